import {
  type ConnectResponse,
  type DispatchPause,
  ErrorReason,
  EventType,
  type Run,
  routingKind,
  type Task,
  TaskPhase,
  TaskReason,
  type Timer,
  type Timers,
} from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { type ConcurrencyLimits, concurrencyKeysOf, concurrencyLimitsOf, effectiveLimit } from "../core/concurrency.js";
import { effectiveWeight, type FairnessWeights, fairnessWeightsOf } from "../core/fairness.js";
import { isFanOut } from "../core/fan-out.js";
import type { IdGenerator } from "../core/ids.js";
import { type RateLimits, type RateSetting, rateLimitsOf } from "../core/rate-limit.js";
import { chooseRunner } from "../core/routing.js";
import { type LabelSelector, selectorFromRunnerSelector } from "../core/selector.js";
import { readyTimeMs } from "../core/task-lifecycle.js";
import { durationToMs } from "../core/task-spec.js";
import { keyLimitMessage, pausedMessage } from "../core/wait-messages.js";
import { DomainError, type Logger } from "../errors.js";
import { observeAssign, observeAssignSent } from "../metrics/dispatch-timing.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { RateKeyRecord, ReadKeys, Snapshot } from "../store/backend.js";
import { decideAssign } from "../store/decide/runs.js";
import type { WriteView } from "../store/decide/view.js";
import type { CommitStage, GroupCommit } from "../store/group-commit.js";
import { assignOutcomeWrite } from "../store/writes.js";
import { dispatchSpan } from "../tracing.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import { DispatchIndex, type HeldEntry, type PendingEntry } from "./dispatch-index.js";
import { type KeyState, laterState } from "./key-gates.js";
import { PauseRules } from "./pause-rules.js";
import { type GatesBefore, RateHolds } from "./rate-holds.js";
import type { ActiveRun, RunTracker } from "./run-tracker.js";
import type { RunnerTarget } from "./runner-target.js";
import { sharedMessage } from "./waiting-reasons.js";

export interface DispatcherSettings {
  /** Runs kept per task (older ones are pruned at assign). */
  runHistoryLimit: number;
  /** Server-side limits per concurrency key (config concurrencyLimits). */
  concurrencyLimits?: Readonly<Record<string, number>>;
  /** Server-side rates per rate-limit key (config rateLimits). */
  rateLimits?: Readonly<Record<string, Partial<RateSetting>>>;
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
  /** Rate-limit and retry-after keys as they were before this batch took tokens or paused them. */
  gatesBefore: GatesBefore;
}

const NOTHING: DispatchPlan = { assigned: [], before: new Map(), gatesBefore: new Map() };

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
  /** Rate limits and retry-after pauses: the tasks their keys hold, and the keys' buckets. */
  readonly rates: RateHolds;
  private readonly limits: ConcurrencyLimits;
  private readonly rateLimits: RateLimits;
  private readonly weights: FairnessWeights;
  /** Dispatch runs only on the server that leads (LeaderDuties says when; alone on its database, from start-up). */
  private leading = false;
  /**
   * ...and only once the leader has counted every active run the store holds (`open`): until then a key's
   * count misses the runs still being read, and a dispatch would start more than its limit allows.
   */
  private opened = false;
  private wanted = false;
  private wakeTimer: Timer | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private pausedUntilMs = 0;
  private stopped = false;
  /**
   * Whether the keys' states in memory may be behind the store, so each batch reads the keys it takes tokens
   * of: always with several servers (another's run end may have paused one); alone, after a commit whose
   * outcome was never known (its tokens may be stored), until the next time this server takes the lead.
   */
  private gatesUnsure = false;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly settings: DispatcherSettings,
  ) {
    deps.commits.addStage(this);
    this.limits = concurrencyLimitsOf(settings.concurrencyLimits ?? {});
    this.rateLimits = rateLimitsOf(settings.rateLimits ?? {});
    this.rates = new RateHolds({
      index: this.index,
      clock: deps.clock,
      timers: deps.timers,
      schedule: () => this.schedule(),
      metrics: deps.metrics,
    });
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
    const rated = this.rates.verdict(entry, group, this.deps.clock.now());
    if (rated || group.startsWith("rate")) return rated;
    if (group.startsWith("pause\n")) {
      const pause = this.pauses.get(group.slice("pause\n".length));
      if (!pause) return undefined;
      return { reason: TaskReason.DISPATCH_PAUSED, message: pausedMessage(pause) };
    }
    const key = group.slice("key\n".length);
    const limit = entry.concurrency?.find((held) => held.key === key)?.limit ?? 0;
    const running = this.deps.tracker.holdingKey(key);
    return { reason: TaskReason.CONCURRENCY_LIMITED, message: keyLimitMessage(key, running, limit) };
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

  /** This server leads from now on: it follows pending tasks; the caller tracks the stored ones, then opens. */
  lead(): void {
    this.leading = true;
  }

  /** Every stored active run is counted on its runner: dispatch may start. */
  open(): void {
    if (!this.leading) return;
    this.opened = true;
    this.schedule();
  }

  /** The keys' buckets and pauses as the store has them (read on taking the lead, before the pending tasks). */
  loadKeys(records: readonly RateKeyRecord[]): void {
    this.rates.load(records);
    this.gatesUnsure = false;
  }

  /** Another server dispatches now: nothing pending is kept here (it is read again on taking the lead). */
  resign(): void {
    this.leading = false;
    this.opened = false;
    this.index.clearTasks();
    this.rates.clear();
  }

  // ---- the commit stage ----

  hasWork(): boolean {
    if (!this.wanted || this.stopped || !this.opened) return false;
    const nowMs = this.deps.clock.now();
    if (nowMs < this.pausedUntilMs) return false;
    this.wakeAt(this.index.promoteDue(nowMs));
    if (this.index.anyRoom && this.index.next() !== undefined) return true;
    this.wanted = false;
    return false;
  }

  async decide(view: WriteView, nowMs: number, read: (keys: ReadKeys) => Promise<Snapshot>): Promise<DispatchPlan> {
    this.wanted = false;
    if (this.stopped || !this.opened) return NOTHING;
    // The retry-after pauses of run ends in this batch hold their keys from now on (undone if it fails).
    const gatesBefore: GatesBefore = new Map();
    this.rates.layOver(view.writes.keyPauses, gatesBefore);
    const idle = { ...NOTHING, gatesBefore };
    if (nowMs < this.pausedUntilMs || !this.index.anyRoom) return gatesBefore.size > 0 ? idle : NOTHING;
    const plan: DispatchPlan = { before: this.layOver(view, nowMs), assigned: [], gatesBefore };
    try {
      this.wakeAt(this.index.promoteDue(nowMs));
      plan.assigned = this.reserve(gatesBefore, nowMs);
      // A fan-out child's assign changes its parent too (its count of running children).
      const unread = plan.assigned
        .flatMap(({ entry }) => (entry.parentId ? [entry.taskId, entry.parentId] : [entry.taskId]))
        .filter((id) => !view.has(id));
      const gateKeys = new Set(plan.assigned.flatMap(({ entry }) => entry.gates?.map(({ key }) => key) ?? []));
      const readGates = gateKeys.size > 0 && (this.gatesUnsure || this.deps.leaderEpoch() !== undefined);
      if (unread.length > 0 || readGates)
        view.extend(await read({ tasks: unread, rateKeys: readGates ? gateKeys : [] }));
      const base = gateKeys.size > 0 ? this.settleGates(plan, view, gateKeys, readGates, nowMs) : undefined;
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
      if (base) this.writeGates(plan, view, base, nowMs);
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
    if (unknown && plan.gatesBefore.size > 0) this.gatesUnsure = true;
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
    this.rates.restore(plan.gatesBefore);
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

  /**
   * The tokens this batch took were counted on what this server knew; the store, read in the same transaction
   * (`read`: see gatesUnsure), may know more: another server's run end paused a key, or (just after a change of
   * leader) the last leader's assigns took tokens. The keys start from the later of both, and the batch's starts
   * are counted again, in order: one that finds no token after all is held instead. Returns the keys as they
   * were before the batch.
   */
  private settleGates(
    plan: DispatchPlan,
    view: WriteView,
    keys: ReadonlySet<string>,
    read: boolean,
    nowMs: number,
  ): Map<string, KeyState | undefined> {
    const gates = this.rates.gates;
    const base = new Map<string, KeyState | undefined>();
    for (const key of keys) {
      const before = plan.gatesBefore.has(key) ? plan.gatesBefore.get(key) : gates.state(key);
      const stored = read ? view.rateKey(key) : undefined;
      const start = stored && before ? laterState(before, stored) : (stored ?? before);
      this.rates.remember(key, plan.gatesBefore);
      gates.set(key, start);
      base.set(key, start);
    }
    const kept: DispatchPlan["assigned"] = [];
    for (const item of plan.assigned) {
      const block = item.entry.gates && gates.blocked(item.entry.gates, nowMs);
      if (!block) {
        if (item.entry.gates) gates.take(item.entry.gates, nowMs);
        kept.push(item);
        continue;
      }
      item.run.assigning = false;
      this.deps.tracker.untrack(item.run);
      this.index.upsert(item.entry, nowMs);
      this.rates.hold(item.entry, block, nowMs);
    }
    plan.assigned = kept;
    return base;
  }

  /**
   * The keys' bucket times after the batch's stored assigns (a task that changed under it took none), written
   * in the same commit as those assigns: what a restart, or the next leader, starts from.
   */
  private writeGates(
    plan: DispatchPlan,
    view: WriteView,
    base: Map<string, KeyState | undefined>,
    nowMs: number,
  ): void {
    const gates = this.rates.gates;
    if (plan.assigned.some((item) => item.entry.gates && !item.stored)) {
      for (const [key, state] of base) gates.set(key, state);
      for (const { entry, stored } of plan.assigned) if (entry.gates && stored) gates.take(entry.gates, nowMs);
    }
    view.begin();
    for (const [key, state] of base) {
      const tatMs = gates.state(key)?.tatMs ?? 0;
      if (tatMs > (state?.tatMs ?? 0)) view.putRateKeyTat(key, tatMs);
    }
    view.commit();
  }

  /** Takes the first tasks in dispatch order that a free runner fits, reserving its room for each. */
  private reserve(gatesBefore: GatesBefore, nowMs: number): DispatchPlan["assigned"] {
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
          if (this.index.hold(entry.taskId, pauseGroup(pause.id), this.deps.clock.now())) {
            this.deps.metrics?.dispatchHolds.inc({ kind: "dispatch_pause" });
          }
          continue;
        }
      }
      if (entry.concurrency) {
        const full = this.keyAtLimit(entry);
        if (full) {
          if (this.index.hold(entry.taskId, keyGroup(full.key), this.deps.clock.now())) {
            this.deps.metrics?.dispatchHolds.inc({ kind: "concurrency_key" });
          }
          // It may have been let go by another of its keys, which then has room for the next one.
          for (const { key } of entry.concurrency) if (key !== full.key) this.keyFreed(key);
          continue;
        }
      }
      // Rate limits, and retry-after pauses on any of its keys: a task without keys skips this.
      if (entry.gates && this.rates.holdIfBlocked(entry, nowMs)) {
        // Let go by a concurrency key, it does not take that room now: the key's next task may.
        for (const { key } of entry.concurrency ?? []) this.keyFreed(key);
        continue;
      }
      const session = chooseRunner(runners, entry);
      if (!session) {
        // The index and the sessions disagree about room: resynchronise (never loop on it).
        for (const runner of runners) this.index.roomChanged(runner);
        if (chooseRunner(runners, entry) === undefined) break;
        continue;
      }
      this.index.take(entry.taskId);
      if (entry.gates) this.rates.take(entry, nowMs, gatesBefore);
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
    const kind = routingKind(task.spec!);
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
      message: sharedMessage(task.status!.message),
      pinnedRunnerId: task.spec!.pinnedRunnerId || undefined,
      parentId: task.parentId || undefined,
      concurrency: task.spec!.concurrency?.length
        ? task.spec!.concurrency.map((held) => ({ key: held.key, limit: effectiveLimit(held, this.limits) }))
        : undefined,
      labels: task.spec!.labels,
      gates: RateHolds.gatesOf(task.spec!.rateLimits ?? [], concurrencyKeysOf(task.spec), this.rateLimits),
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
