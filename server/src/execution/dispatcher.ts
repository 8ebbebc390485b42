import {
  type ConnectResponse,
  ErrorReason,
  type Run,
  type Task,
  TaskPhase,
  TaskReason,
  type Timer,
  type Timers,
  taskKind,
} from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { IdGenerator } from "../core/ids.js";
import { chooseRunner } from "../core/routing.js";
import { type LabelSelector, selectorFromRunnerSelector } from "../core/selector.js";
import { readyTimeMs } from "../core/task-lifecycle.js";
import { durationToMs } from "../core/task-spec.js";
import { DomainError, type Logger } from "../errors.js";
import type { GroupCommit } from "../store/group-commit.js";
import { assignOutcomeWrite, assignWrite } from "../store/writes.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import { DispatchIndex, type PendingEntry } from "./dispatch-index.js";
import type { RunTracker } from "./run-tracker.js";
import type { RunnerSession } from "./runner-session.js";

export interface DispatcherSettings {
  /** Runs kept per task (older ones are pruned at assign). */
  runHistoryLimit: number;
}

export interface DispatcherDeps {
  commits: GroupCommit;
  ids: IdGenerator;
  clock: Clock;
  timers: Timers;
  log: Logger;
  tracker: RunTracker;
  /** For finding out whether an assign whose commit failed was stored all the same. */
  retry: CommitRetry;
}

/** The assign message of a committed run: what to run and the deadline (assign time + timeout). */
export function assignMessage(run: Run, task: Task, nowMs: number): ConnectResponse {
  const timeoutMs = durationToMs(task.spec!.timeout!);
  const deadline = new Date((run.assignTime?.getTime() ?? nowMs) + timeoutMs);
  return {
    message: {
      $case: "assign",
      value: { runId: run.id, taskId: task.id, attempt: run.attempt, spec: task.spec, deadline },
    },
  };
}

/** After a failed assign, dispatch pauses this long (the store is failing: do not spin). */
const ASSIGN_RETRY_MS = 1_000;

/**
 * Turns pending tasks into runs: keeps them in the DispatchIndex (by what can
 * run them), runs one pass per burst of triggers (a commit, a runner with
 * room, a backoff that ended), and commits each assignment before its
 * `assign` message is sent.
 */
export class Dispatcher {
  readonly index = new DispatchIndex<RunnerSession>();
  private scheduled = false;
  private wakeTimer: Timer | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private pausedUntilMs = 0;
  private stopped = false;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly settings: DispatcherSettings,
  ) {}

  /** A pending task (not queued behind a slot owner) waits for a runner from now on. */
  track(task: Task, nowMs = this.deps.clock.now()): void {
    const kind = taskKind(task.spec!);
    if (!kind) return;
    let selector: LabelSelector;
    try {
      selector = selectorFromRunnerSelector(task.spec!.runnerSelector ?? { matchLabels: {}, matchExpressions: [] });
    } catch (error) {
      this.deps.log(`task ${task.id} has an unusable runner selector`, error);
      return;
    }
    this.index.upsert(
      {
        taskId: task.id,
        priority: task.spec!.priority,
        readyAtMs: readyTimeMs(task),
        slot: task.spec!.slot,
        kind,
        selector,
        reason: task.status!.reason,
      },
      nowMs,
    );
  }

  /** Follows a committed change: pending and free to run → tracked; anything else → not. */
  follow(task: Task, deleted: boolean, nowMs: number): void {
    const pending =
      !deleted && task.status?.phase === TaskPhase.TASK_PHASE_PENDING && task.status.reason !== TaskReason.SLOT_QUEUED;
    if (pending) this.track(task, nowMs);
    else this.index.remove(task.id);
  }

  /** Coalesces every trigger (submit, runner connect, capacity freed, backoff over) into one pass. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pass();
    });
  }

  stop(): void {
    this.stopped = true;
    this.wakeTimer?.cancel();
  }

  private pass(): void {
    if (this.stopped) return;
    const nowMs = this.deps.clock.now();
    if (nowMs < this.pausedUntilMs) {
      this.wakeAt(this.pausedUntilMs);
      return;
    }
    const nextReadyMs = this.index.promoteDue(nowMs);
    for (let pick = this.index.next(); pick; pick = this.index.next()) {
      const { entry, runners } = pick;
      // A replaced owner may still be stopping: nothing else of its slot starts beside it.
      if (entry.slot && this.deps.tracker.slotBusy(entry.slot)) {
        this.index.holdForSlot(entry.taskId);
        continue;
      }
      const session = chooseRunner(runners, entry);
      if (!session) {
        // The index and the sessions disagree about room: resynchronise (never loop on it).
        for (const runner of runners) this.index.roomChanged(runner);
        if (chooseRunner(runners, entry) === undefined) break;
        continue;
      }
      this.assign(entry, session);
    }
    this.wakeAt(nextReadyMs);
  }

  private wakeAt(timeMs: number): void {
    if (timeMs === Number.POSITIVE_INFINITY || timeMs >= this.wakeAtMs) return;
    this.wakeTimer?.cancel();
    this.wakeAtMs = timeMs;
    this.wakeTimer = this.deps.timers.after(timeMs - this.deps.clock.now(), () => {
      this.wakeAtMs = Number.POSITIVE_INFINITY;
      this.schedule();
    });
  }

  /** Reserves the runner's capacity and the task now, commits the run, then sends the assign. */
  private assign(entry: PendingEntry, session: RunnerSession): void {
    const { tracker, commits, clock } = this.deps;
    const runId = this.deps.ids.next();
    this.index.remove(entry.taskId);
    const run = tracker.newRun(runId, entry.taskId, session.id, entry.slot);
    tracker.track(run, session);
    this.index.roomChanged(session);
    const send = (assigned: { task: Task; run: Run }) => {
      const timeoutMs = durationToMs(assigned.task.spec!.timeout!);
      tracker.armBackstop(run, timeoutMs, assigned.run.assignTime?.getTime() ?? clock.now());
      session.send(assignMessage(assigned.run, assigned.task, clock.now()));
      if (assigned.task.status!.cancelRequested) tracker.sendCancel(assigned.task);
    };
    commits
      .run(assignWrite(entry.taskId, runId, session, this.settings.runHistoryLimit))
      .then((assigned) => {
        if (!assigned) return tracker.untrack(run); // the task changed under us (canceled): nothing was stored
        send(assigned);
      })
      .catch(async (error: unknown) => {
        this.pausedUntilMs = clock.now() + ASSIGN_RETRY_MS;
        // The store failed under the commit, and may have committed it all the same (PostgreSQL stopped after the
        // COMMIT, before its answer): then the task is the run's, and only this run may carry it. Find out (the run
        // and the runner's room stay reserved meanwhile) before giving the task back.
        const unknown = error instanceof DomainError && error.reason === ErrorReason.STORE_UNAVAILABLE;
        const stored = unknown
          ? await commitUntilDone(
              this.deps.retry,
              `finding out whether the assign of run ${runId} committed`,
              assignOutcomeWrite(entry.taskId, runId),
            ).catch(() => undefined) // shut down meanwhile: the next start-up finds the run, or the task pending
          : undefined;
        if (stored) {
          this.deps.log(`assigning task ${entry.taskId}: the commit reported failed, but it is stored; sending it`);
          return send(stored);
        }
        this.deps.log(`assigning task ${entry.taskId} failed; it stays pending`, error);
        tracker.untrack(run);
        this.index.upsert(entry, clock.now());
      })
      .finally(() => this.schedule());
  }
}
