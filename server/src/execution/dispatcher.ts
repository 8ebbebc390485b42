import {
  type ConnectResponse,
  type DispatchPause,
  ErrorReason,
  EventType,
  type Run,
  type Task,
  TaskPhase,
  TaskReason,
  type Timer,
  type Timers,
  taskKind,
} from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { type ConcurrencyLimits, concurrencyLimitsOf, effectiveLimit } from "../core/concurrency.js";
import { effectiveWeight, type FairnessWeights, fairnessWeightsOf } from "../core/fairness.js";
import { isFanOut } from "../core/fan-out.js";
import type { IdGenerator } from "../core/ids.js";
import { chooseRunner } from "../core/routing.js";
import { type LabelSelector, selectorFromRunnerSelector } from "../core/selector.js";
import { readyTimeMs } from "../core/task-lifecycle.js";
import { durationToMs } from "../core/task-spec.js";
import { DomainError, type Logger } from "../errors.js";
import { observeAssign, observeAssignSent } from "../metrics/dispatch-timing.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { ReadKeys, Snapshot } from "../store/backend.js";
import { decideAssign } from "../store/decide/runs.js";
import type { WriteView } from "../store/decide/view.js";
import type { CommitStage, GroupCommit } from "../store/group-commit.js";
import { assignOutcomeWrite } from "../store/writes.js";
import { dispatchSpan } from "../tracing.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import { DispatchIndex, type HeldEntry, type PendingEntry } from "./dispatch-index.js";
import { describeTarget, PauseRules } from "./pause-rules.js";
import type { ActiveRun, RunTracker } from "./run-tracker.js";
import type { RunnerTarget } from "./runner-target.js";

export interface DispatcherSettings {
  /** Runs kept per task (older ones are pruned at assign). */
  runHistoryLimit: number;
  /** Server-side limits per concurrency key (config concurrencyLimits). */
  concurrencyLimits?: Readonly<Record<string, number>>;
  /** Server-side weights per fairness key (config fairnessWeights). */
  fairnessWeights?: Readonly<Record<string, number>>;
}

/** The index group of the tasks waiting on a concurrency key at its limit... */
export const keyGroup = (key: string): string => `key\n${key}`;
/** ...and of those a dispatch pause holds. */
export const pauseGroup = (pauseId: string): string => `pause\n${pauseId}`;

export interface DispatcherDeps {
  commits: GroupCommit;
  ids: IdGenerator;
  clock: Clock;
  timers: Timers;
  log: Logger;
  tracker: RunTracker;
  /** For finding out whether an assign whose commit failed was stored all the same. */
  retry: CommitRetry;
  /**
   * The leader epoch its assigns carry (several servers: the store refuses them once another server
   * leads); undefined for a server alone on its database.
   */
  leaderEpoch(): number | undefined;
  metrics?: ServerMetrics;
}

/** The assign message of a committed run: what to run and the deadline (assign time + timeout). */
export function assignMessage(run: Run, task: Task, nowMs: number): ConnectResponse {
  const timeoutMs = durationToMs(task.spec!.timeout!);
  const deadline = new Date((run.assignTime?.getTime() ?? nowMs) + timeoutMs);
  return {
    message: {
      $case: "assign",
      value: {
        runId: run.id,
        taskId: task.id,
        attempt: run.attempt,
        spec: task.spec,
        deadline,
        traceparent: dispatchSpan(task.traceparent, {
          "supervisor.task_id": task.id,
          "supervisor.run_id": run.id,
          "supervisor.attempt": run.attempt,
          "supervisor.runner_id": run.runnerId,
        }),
      },
    },
  };
}

/** After a failed assign, dispatch pauses this long (the store is failing: do not spin). */
const ASSIGN_RETRY_MS = 1_000;

/** What one batch's dispatch did, to finish (or undo) once the batch's commit is known. */
interface DispatchPlan {
  /** Runs reserved in this batch, with their assign (undefined: the task changed; nothing was stored). */
  assigned: { run: ActiveRun; session: RunnerTarget; entry: PendingEntry; stored?: { task: Task; run: Run } }[];
  /** Index entries as they were before this batch's changes were laid over them (undefined: not tracked). */
  before: Map<string, PendingEntry | undefined>;
}

const NOTHING: DispatchPlan = { assigned: [], before: new Map() };

/**
 * Turns pending tasks into runs. Keeps them in the DispatchIndex (by what can
 * run them) and dispatches as a stage of the group commit: after a batch's
 * requests are decided, the tasks they made pending go into the index, free
 * runners are matched with the first tasks in dispatch order, and the assigns
 * are decided into the same batch — a task submitted while a runner has room
 * is stored and assigned by one commit. The `assign` message is sent once
 * that commit is done; if it fails, the runs and the index are put back.
 */
export class Dispatcher implements CommitStage<DispatchPlan> {
  readonly index = new DispatchIndex<RunnerTarget>();
  /** The dispatch pauses in force (DispatchService), as the leader last read them. */
  readonly pauses = new PauseRules();
  private readonly limits: ConcurrencyLimits;
  private readonly weights: FairnessWeights;
  /** Dispatch runs only on the server that leads (LeaderDuties says when; alone on its database, from start-up). */
  private leading = false;
  private wanted = false;
  private wakeTimer: Timer | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private pausedUntilMs = 0;
  private stopped = false;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly settings: DispatcherSettings,
  ) {
    deps.commits.addStage(this);
    this.limits = concurrencyLimitsOf(settings.concurrencyLimits ?? {});
    this.weights = fairnessWeightsOf(settings.fairnessWeights ?? {});
  }

  /** The pauses in force changed (read again from the store): the tasks of those gone are dispatched at once. */
  setPauses(pauses: readonly DispatchPause[]): void {
    const gone = this.pauses.replace(pauses);
    const nowMs = this.deps.clock.now();
    let released = 0;
    for (const id of gone) released += this.index.release(pauseGroup(id), nowMs);
    if (released > 0) this.schedule();
  }

  /**
   * A run holding `key` ended (or was never stored): the tasks waiting on the key are let go, first in
   * dispatch order first, as many as the key has room for by the limit of the first one left.
   */
  keyFreed(key: string): void {
    const running = this.deps.tracker.holdingKey(key);
    const released = this.index.release(keyGroup(key), this.deps.clock.now(), (entry, taken) => {
      const limit = entry.concurrency?.find((held) => held.key === key)?.limit ?? 0;
      return running + taken < limit;
    });
    if (released > 0) this.schedule();
  }

  /** The key of the task that is at its limit, if one is. */
  private keyAtLimit(entry: PendingEntry): { key: string; limit: number } | undefined {
    for (const held of entry.concurrency!) {
      if (this.deps.tracker.holdingKey(held.key) >= held.limit) return held;
    }
    return undefined;
  }

  /** Why a held task waits, for its status (WaitingReasons asks). */
  heldVerdict({ entry, group }: HeldEntry): { reason: string; message: string } | undefined {
    if (group.startsWith("pause\n")) {
      const pause = this.pauses.get(group.slice("pause\n".length));
      if (!pause) return undefined;
      return {
        reason: TaskReason.DISPATCH_PAUSED,
        message: `dispatch paused by ${pause.id} (${describeTarget(pause)})${pause.note ? `: ${pause.note}` : ""}`,
      };
    }
    const key = group.slice("key\n".length);
    const limit = entry.concurrency?.find((held) => held.key === key)?.limit ?? 0;
    const running = this.deps.tracker.holdingKey(key);
    return {
      reason: TaskReason.CONCURRENCY_LIMITED,
      message:
        limit === 0
          ? `concurrency key ${key} has no limit: max_running 0 names the server's, and none is configured`
          : `concurrency key ${key} is at its limit: ${running} of ${limit} running`,
    };
  }

  /** A pending task (not queued behind a slot owner) waits for a runner from now on. */
  track(task: Task, nowMs = this.deps.clock.now()): void {
    const entry = this.entryOf(task);
    if (entry) this.index.upsert(entry, nowMs);
  }

  /** Follows a committed change: pending and free to run → tracked; anything else → not. */
  follow(task: Task, deleted: boolean, nowMs: number): void {
    if (!this.leading) return;
    if (!deleted && isDispatchable(task)) this.track(task, nowMs);
    else this.index.remove(task.id);
  }

  /** Coalesces every trigger (a runner with room, a backoff that ended, a commit) into the next batch. */
  schedule(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.deps.commits.kick();
  }

  stop(): void {
    this.stopped = true;
    this.wakeTimer?.cancel();
  }

  /** This server leads from now on: the caller tracks the pending tasks, then schedules. */
  lead(): void {
    this.leading = true;
  }

  /** Another server dispatches now: nothing pending is kept here (it is read again on taking the lead). */
  resign(): void {
    this.leading = false;
    this.index.clearTasks();
  }

  // ---- the commit stage ----

  hasWork(): boolean {
    if (!this.wanted || this.stopped || !this.leading) return false;
    const nowMs = this.deps.clock.now();
    if (nowMs < this.pausedUntilMs) return false;
    this.wakeAt(this.index.promoteDue(nowMs));
    if (this.index.anyRoom && this.index.next() !== undefined) return true;
    this.wanted = false;
    return false;
  }

  async decide(view: WriteView, nowMs: number, read: (keys: ReadKeys) => Promise<Snapshot>): Promise<DispatchPlan> {
    this.wanted = false;
    if (this.stopped || !this.leading || nowMs < this.pausedUntilMs || !this.index.anyRoom) return NOTHING;
    const plan: DispatchPlan = { before: this.layOver(view, nowMs), assigned: [] };
    try {
      this.wakeAt(this.index.promoteDue(nowMs));
      plan.assigned = this.reserve();
      // A fan-out child's assign changes its parent too (its count of running children).
      const unread = plan.assigned
        .flatMap(({ entry }) => (entry.parentId ? [entry.taskId, entry.parentId] : [entry.taskId]))
        .filter((id) => !view.has(id));
      if (unread.length > 0) view.extend(await read({ tasks: unread }));
      for (const item of plan.assigned) {
        view.begin();
        item.stored = decideAssign(
          view,
          item.entry.taskId,
          item.run.runId,
          item.session,
          this.settings.runHistoryLimit,
          nowMs,
        );
        view.commit();
      }
      const epoch = this.deps.leaderEpoch();
      if (epoch !== undefined && plan.assigned.some((item) => item.stored)) view.requireLeader(epoch);
      return plan;
    } catch (error) {
      this.undo(plan);
      throw error;
    }
  }

  committed(plan: DispatchPlan): void {
    for (const { run, session, stored, entry } of plan.assigned) {
      run.assigning = false;
      if (stored) observeAssign(this.deps.metrics, stored.task, stored.run, entry.readyAtMs, session.labels.pool);
      if (stored) this.send(run, session, stored);
      else this.deps.tracker.untrack(run); // the task changed under us (canceled): nothing was stored for it
    }
  }

  failed(plan: DispatchPlan | undefined, error: unknown): void {
    if (!plan || plan === NOTHING) return;
    // The store failed under the commit and may have committed it all the same (PostgreSQL stopped after
    // the COMMIT, before its answer). Then those tasks are their runs', and only these runs may carry them:
    // their runs and room stay reserved until the store says which it holds.
    const unknown = error instanceof DomainError && error.reason === ErrorReason.STORE_UNAVAILABLE;
    const open = unknown ? plan.assigned.filter((item) => item.stored) : [];
    this.undo(plan, new Set(open.map((item) => item.run.runId)));
    for (const item of open) void this.settle(item);
    if (plan.assigned.length > 0) {
      this.deps.log(`assigning ${plan.assigned.length} tasks failed; they stay pending`, error);
      this.pausedUntilMs = this.deps.clock.now() + ASSIGN_RETRY_MS;
      this.wakeAt(this.pausedUntilMs);
    }
  }

  private send(run: ActiveRun, session: RunnerTarget, stored: { task: Task; run: Run }): void {
    // The server holding its stream sends it, and watches its deadline: it hears of the assign from the journal.
    if (session.remote) return;
    const { tracker, clock } = this.deps;
    const timeoutMs = durationToMs(stored.task.spec!.timeout!);
    tracker.armBackstop(run, timeoutMs, stored.run.assignTime?.getTime() ?? clock.now());
    session.send(assignMessage(stored.run, stored.task, clock.now()));
    observeAssignSent(this.deps.metrics, stored.task, stored.run, clock.now());
    if (stored.task.status!.cancelRequested) tracker.sendCancel(stored.task);
  }

  /** An assign whose commit's outcome is unknown: asks the store (on the write path, once it writes again). */
  private async settle({ run, session, entry }: DispatchPlan["assigned"][number]): Promise<void> {
    const found = await commitUntilDone(
      this.deps.retry,
      `finding out whether the assign of run ${run.runId} committed`,
      assignOutcomeWrite(entry.taskId, run.runId),
    ).catch(() => undefined); // shut down meanwhile: the next start-up finds the run, or the task pending
    run.assigning = false;
    if (found) {
      this.deps.log(
        `assigning task ${entry.taskId}: the commit reported failed, but it is stored; sending it`,
        undefined,
        {
          level: "warn",
          task_id: entry.taskId,
        },
      );
      this.send(run, session, found);
      return;
    }
    this.deps.tracker.untrack(run);
    this.index.upsert(entry, this.deps.clock.now());
    this.schedule();
  }

  /**
   * Nothing of the batch was written (as far as is known): its runs are released and the index is as it
   * was before it — except for the runs in `open`, whose outcome is still to be found out.
   */
  private undo(plan: DispatchPlan, open: ReadonlySet<string> = new Set()): void {
    const nowMs = this.deps.clock.now();
    const settled = plan.assigned.filter(({ run }) => !open.has(run.runId));
    for (const { run } of settled) {
      run.assigning = false;
      this.deps.tracker.untrack(run);
    }
    for (const { entry } of settled) if (!plan.before.has(entry.taskId)) this.index.upsert(entry, nowMs);
    const waiting = new Set(plan.assigned.filter(({ run }) => open.has(run.runId)).map(({ entry }) => entry.taskId));
    for (const [taskId, entry] of plan.before) {
      if (waiting.has(taskId)) continue;
      if (entry) this.index.upsert(entry, nowMs);
      else this.index.remove(taskId);
    }
  }

  // ---- internals ----

  /**
   * Lays the batch's task changes over the index, as if committed (a task
   * submitted or retried in this batch may be assigned in it; one canceled in
   * it is not). Returns the entries as they were, to undo it.
   */
  private layOver(view: WriteView, nowMs: number): Map<string, PendingEntry | undefined> {
    const before = new Map<string, PendingEntry | undefined>();
    for (const { change } of view.writes.tasks) {
      const { task } = change;
      if (!before.has(task.id)) before.set(task.id, this.index.entry(task.id));
      this.follow(task, change.type === EventType.EVENT_TYPE_DELETED, nowMs);
    }
    return before;
  }

  /** Takes the first tasks in dispatch order that a free runner fits, reserving its room for each. */
  private reserve(): DispatchPlan["assigned"] {
    const assigned: DispatchPlan["assigned"] = [];
    const { tracker, ids } = this.deps;
    for (let pick = this.index.next(); pick; pick = this.index.next()) {
      const { entry, runners } = pick;
      // A replaced owner may still be stopping: nothing else of its slot starts beside it.
      if (entry.slot && tracker.slotBusy(entry.slot)) {
        this.index.holdForSlot(entry.taskId);
        continue;
      }
      // Both checks cost nothing to a task without keys while no pause is in force.
      if (this.pauses.size > 0) {
        const pause = this.pauses.match(entry);
        if (pause) {
          this.index.hold(entry.taskId, pauseGroup(pause.id), this.deps.clock.now());
          continue;
        }
      }
      if (entry.concurrency) {
        const full = this.keyAtLimit(entry);
        if (full) {
          this.index.hold(entry.taskId, keyGroup(full.key), this.deps.clock.now());
          // It may have been let go by another of its keys, which then has room for the next one.
          for (const { key } of entry.concurrency) if (key !== full.key) this.keyFreed(key);
          continue;
        }
      }
      const session = chooseRunner(runners, entry);
      if (!session) {
        // The index and the sessions disagree about room: resynchronise (never loop on it).
        for (const runner of runners) this.index.roomChanged(runner);
        if (chooseRunner(runners, entry) === undefined) break;
        continue;
      }
      this.index.take(entry.taskId);
      const keys = entry.concurrency?.map(({ key }) => key);
      const run = tracker.newRun(ids.next(), entry.taskId, session.id, entry.slot, keys);
      run.assigning = true;
      tracker.track(run, session);
      this.index.roomChanged(session);
      assigned.push({ run, session, entry });
    }
    return assigned;
  }

  private entryOf(task: Task): PendingEntry | undefined {
    const kind = taskKind(task.spec!);
    // A fan-out parent runs nothing itself: its children are dispatched.
    if (!kind || isFanOut(task.spec)) return undefined;
    let selector: LabelSelector;
    try {
      selector = selectorFromRunnerSelector(task.spec!.runnerSelector ?? { matchLabels: {}, matchExpressions: [] });
    } catch (error) {
      this.deps.log(`task ${task.id} has an unusable runner selector`, error, { task_id: task.id });
      return undefined;
    }
    return {
      taskId: task.id,
      priority: task.spec!.priority,
      readyAtMs: readyTimeMs(task),
      slot: task.spec!.slot,
      kind,
      selector,
      reason: task.status!.reason,
      pinnedRunnerId: task.spec!.pinnedRunnerId || undefined,
      parentId: task.parentId || undefined,
      concurrency: task.spec!.concurrency?.length
        ? task.spec!.concurrency.map((held) => ({ key: held.key, limit: effectiveLimit(held, this.limits) }))
        : undefined,
      labels: task.spec!.labels,
      fairness: task.spec!.fairness?.key
        ? { key: task.spec!.fairness.key, weight: effectiveWeight(task.spec!.fairness, this.weights) }
        : undefined,
    };
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
}

const isDispatchable = (task: Task): boolean =>
  task.status?.phase === TaskPhase.TASK_PHASE_PENDING && task.status.reason !== TaskReason.SLOT_QUEUED;
