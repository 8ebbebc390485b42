import type { Timer, Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../errors.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { ScheduleProgress, ScheduleRow, ScheduleStore } from "../store/backend.js";
import { fireRequest } from "./fire.js";
import type { FireOutcome, TaskFirer } from "./fire-tasks.js";
import { planPass } from "./plan.js";

export interface SchedulerSettings {
  /** Ticks fired per schedule per pass (a long catch-up goes on in the next pass, at once). */
  maxFiresPerPass: number;
  /** Due schedules read per round. */
  dueBatch: number;
  /**
   * The longest sleep. Every change wakes the scheduler (one made through another server by its
   * notification); the bound limits how long a lost notification delays a change (shared: 10 s) and
   * how far a wall-clock step (NTP) can move a fire.
   */
  rereadMs: number;
  /** After a failed pass (the store away, the lead lost), the next try. */
  retryMs: number;
}

/** Settings for a server alone on its database, or one of several (`shared`). */
export const schedulerSettings = (shared: boolean): SchedulerSettings => ({
  maxFiresPerPass: 1000,
  dueBatch: 100,
  rereadMs: shared ? 10_000 : 60_000,
  retryMs: 1_000,
});

export interface SchedulerDeps {
  store: ScheduleStore;
  firer: TaskFirer;
  clock: Clock;
  timers: Timers;
  log: Logger;
  settings: SchedulerSettings;
  metrics?: ServerMetrics;
}

/**
 * Fires the ticks that are due, on the one server that leads. State lives in the store only: each
 * schedule's cursor says which ticks are handled, so a restart (or a new leader) goes on where the
 * last pass committed. A tick whose task is stored but whose cursor move was lost is fired again and
 * deduplicated by its request id, so it is stored once.
 */
export class Scheduler {
  private readonly settings: SchedulerSettings;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(private readonly deps: SchedulerDeps) {
    this.settings = deps.settings;
  }

  /** A leader duty: starts now, returns its stop (which waits for the pass in progress). */
  readonly duty = (): (() => Promise<void>) => {
    this.stopped = false;
    const unsubscribe = this.deps.store.onChanged(() => this.wake());
    this.wake();
    return async () => {
      unsubscribe();
      this.stopped = true;
      this.timer?.cancel();
      this.timer = undefined;
      await this.running;
    };
  };

  /** Looks at the schedules again now (a client changed one); a no-op while not leading. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  private async run(): Promise<void> {
    let sleepMs = this.settings.rereadMs;
    try {
      do {
        this.again = false;
        const more = await this.passOverDue();
        if (more) this.again = true;
      } while (this.again && !this.stopped);
      const next = await this.deps.store.nextDueMs();
      if (next !== undefined) sleepMs = Math.min(sleepMs, Math.max(0, next - this.deps.clock.now()));
    } catch (error) {
      this.deps.log("the scheduler's pass failed; it tries again shortly", error);
      sleepMs = this.settings.retryMs;
    }
    if (this.stopped) return;
    this.timer = this.deps.timers.after(sleepMs, () => {
      this.timer = undefined;
      this.wake();
    });
  }

  /** One round over the due schedules; true when more may be due at once. */
  private async passOverDue(): Promise<boolean> {
    const now = this.deps.clock.now();
    const due = await this.deps.store.due(now, this.settings.dueBatch);
    let more = due.length === this.settings.dueBatch;
    for (const row of due) {
      if (this.stopped) return false;
      if (await this.pass(row, now)) more = true;
    }
    return more;
  }

  private logPass(row: ScheduleRow, fired: { taskId: string }[], missed: number): void {
    const schedule_id = row.id;
    for (const { taskId } of fired) {
      this.deps.log(`schedule ${row.id} fired task ${taskId}`, undefined, { schedule_id, task_id: taskId });
    }
    if (missed > 0) {
      this.deps.log(`schedule ${row.id} missed ${missed} tick(s)`, undefined, { level: "warn", schedule_id, missed });
    }
  }

  /** Fires one schedule's due ticks and moves its cursor; true when it has more due right now. */
  private async pass(row: ScheduleRow, now: number): Promise<boolean> {
    const plan = planPass(row, now, this.settings.maxFiresPerPass);
    // All at once: they share group commits, and the commit order is their order (oldest first).
    const outcomes = await Promise.allSettled(
      plan.fire.map((nominalMs) => this.deps.firer.fireTick(fireRequest(row.definition, nominalMs))),
    );
    const failedAt = outcomes.findIndex((outcome) => outcome.status === "rejected");
    const handled = failedAt === -1 ? outcomes.length : failedAt;
    const settled = outcomes.slice(0, handled).map((outcome) => (outcome as PromiseFulfilledResult<FireOutcome>).value);
    const fired = settled.flatMap((outcome, i) =>
      outcome.kind === "fired" ? [{ taskId: outcome.taskId, nominalMs: plan.fire[i]! }] : [],
    );
    const complete = handled === plan.fire.length;
    if (fired.length > 0) this.deps.metrics?.scheduleFires.inc(fired.length);
    const progress: ScheduleProgress = {
      // Stopped by a failure: the cursor stays just before the first tick not handled, which is then due.
      cursorMs: complete ? plan.cursorMs : handled > 0 ? plan.fire[handled - 1]! : plan.fire[0]! - 1,
      nextDueMs: complete ? plan.nextDueMs : plan.fire[handled]!,
      lastFireMs: fired.at(-1)?.nominalMs,
      firedTaskIds: fired.map((outcome) => outcome.taskId).reverse(),
      missed: plan.missed,
      skipped: settled.length - fired.length,
    };
    const nothingToWrite = progress.cursorMs === row.cursorMs && progress.nextDueMs === row.nextDueMs;
    if (nothingToWrite && progress.missed === 0) {
      if (!complete) throw (outcomes[failedAt] as PromiseRejectedResult).reason;
      return false;
    }
    const moved = await this.deps.store.advance(
      row.id,
      { generation: row.generation, cursorMs: row.cursorMs },
      progress,
    );
    if (moved) countMisses(this.deps.metrics, progress);
    this.logPass(row, fired, moved ? progress.missed : 0);
    if (!complete) throw (outcomes[failedAt] as PromiseRejectedResult).reason;
    // Moved: more is due now if the pass stopped at its limit. Not moved: a client changed it; read it again.
    return !moved || (progress.nextDueMs !== null && progress.nextDueMs <= now);
  }
}

/** Ticks the pass recorded as not fired: missed (past the catch-up window) and skipped (overlap policy). */
function countMisses(metrics: ServerMetrics | undefined, progress: ScheduleProgress): void {
  if (progress.missed > 0) metrics?.scheduleMisses.inc({ kind: "missed" }, progress.missed);
  if (progress.skipped > 0) metrics?.scheduleMisses.inc({ kind: "skipped" }, progress.skipped);
}
