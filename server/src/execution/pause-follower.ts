import type { DispatchPause, Timer, Timers } from "@supervisor/sdk";
import type { Logger } from "../errors.js";
import type { DispatchPauseStore } from "../store/backend.js";
import type { Duty } from "./leader-duties.js";

/** How often the leader reads the pauses again, besides on every change it hears of (a notification may be lost). */
export const PAUSES_REREAD_MS = 2_000;

/**
 * Keeps the leader's dispatch pauses as the store has them: read on taking the lead, on every change made
 * here (`refresh` from the service) or told by another server, and every PAUSES_REREAD_MS. Runs only while
 * this server leads (`duty`).
 */
export class PauseFollower {
  private running = false;
  private reading: Promise<void> | undefined;
  private again = false;
  private timer: Timer | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: DispatchPauseStore,
    private readonly apply: (pauses: readonly DispatchPause[]) => void,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {}

  readonly duty: Duty = () => {
    this.running = true;
    this.unsubscribe = this.store.onChanged(() => void this.refresh());
    this.timer = this.timers.every(PAUSES_REREAD_MS, () => void this.refresh());
    void this.refresh();
    return () => {
      this.running = false;
      this.unsubscribe?.();
      this.timer?.cancel();
      this.apply([]);
    };
  };

  /** Reads the pauses again and applies them (calls while one read runs coalesce into one more). */
  refresh(): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          const pauses = await this.store.list();
          if (this.running) this.apply(pauses);
        } while (this.again && this.running);
      } catch (error) {
        this.log("reading the dispatch pauses failed; trying again in a few seconds", error);
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}
