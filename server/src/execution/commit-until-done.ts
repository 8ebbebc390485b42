import { ErrorReason, type Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { DomainError, type Logger } from "../errors.js";
import type { GroupCommit, WriteRequest } from "../store/group-commit.js";

export interface CommitRetry {
  commits: GroupCommit;
  timers: Timers;
  clock: Clock;
  log: Logger;
  /** Aborted at shutdown: the write is then left to the runner's next report (or the next start-up). */
  signal: AbortSignal;
}

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 2_000;
const LOG_EVERY_MS = 30_000;

/**
 * A write on the run path that must not be dropped: the record of a run's
 * start, output or end. A store failure (disk full, I/O error) is retried with
 * capped backoff until the write commits — so once space returns the run ends
 * with its real outcome within seconds, without a restart — and callers act
 * (tell the runner, free capacity) only after that. A refusal by the domain
 * is not retried. Throws only on a domain refusal or at shutdown.
 */
export async function commitUntilDone<T>(retry: CommitRetry, what: string, write: WriteRequest<T>): Promise<T> {
  let delayMs = FIRST_DELAY_MS;
  let failures = 0;
  let loggedAtMs = Number.NEGATIVE_INFINITY;
  for (;;) {
    try {
      const value = await retry.commits.run(write);
      if (failures > 0) retry.log(`${what}: committed after ${failures} failed attempt(s)`, undefined, { failures });
      return value;
    } catch (error) {
      // A refusal by the domain is final; a store that cannot write now (disk full) is retried.
      const storeDown = error instanceof DomainError && error.reason === ErrorReason.STORE_UNAVAILABLE;
      if ((error instanceof DomainError && !storeDown) || retry.signal.aborted) throw error;
      failures++;
      const nowMs = retry.clock.now();
      if (nowMs - loggedAtMs >= LOG_EVERY_MS) {
        loggedAtMs = nowMs;
        retry.log(`${what} failed (attempt ${failures}); retrying until it commits`, error, {
          level: "warn",
          failures,
        });
      }
      await pause(retry, delayMs);
      if (retry.signal.aborted) throw error;
      delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
    }
  }
}

function pause(retry: CommitRetry, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = retry.timers.after(ms, done);
    retry.signal.addEventListener("abort", done, { once: true });
    function done() {
      timer.cancel();
      retry.signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
