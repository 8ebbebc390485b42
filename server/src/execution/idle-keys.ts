import type { Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../errors.js";
import type { GroupCommit } from "../store/group-commit.js";
import { expireRateKeysWrite } from "../store/writes.js";
import type { Duty } from "./leader-duties.js";
import type { RateHolds } from "./rate-holds.js";

/** How often the leader forgets keys that say nothing any more. */
export const IDLE_KEYS_EVERY_MS = 60_000;
/**
 * A key is forgotten once its bucket has been full, unpaused, this long: "full" is read on the clock of the
 * server that forgets it, and servers sharing a database may disagree by a little.
 */
export const IDLE_KEY_MARGIN_MS = 60_000;

/**
 * Keeps the rate_keys table (and the leader's memory of it) to the keys in use: a full bucket with no pause
 * is the same as no row, so every IDLE_KEYS_EVERY_MS those rows go. Without it, every tenant key ever
 * rate-limited would keep a row forever.
 */
export function idleKeysDuty(
  rates: RateHolds,
  writes: Pick<GroupCommit, "run">,
  clock: Clock,
  timers: Timers,
  log: Logger,
): Duty {
  return () => {
    const timer = timers.every(IDLE_KEYS_EVERY_MS, () => {
      const beforeMs = clock.now() - IDLE_KEY_MARGIN_MS;
      rates.forgetIdle(beforeMs);
      writes.run(expireRateKeysWrite(beforeMs)).catch((error) => log("forgetting idle rate-limit keys failed", error));
    });
    return () => timer.cancel();
  };
}
