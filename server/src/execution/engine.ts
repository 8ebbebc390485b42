import { status } from "@grpc/grpc-js";
import {
  type ConnectRequest,
  clipText,
  ErrorReason,
  EventType,
  type ConnectRequest_Hello as Hello,
  jsonLimitProblem,
  MAX_ERROR_TEXT,
  type OutputStream,
  type RunnerInfo as Runner,
  RunnerState,
  RunOutcome,
  RunPhase,
  SYSTEM_TIMERS,
  type Task,
  TaskPhase,
  TaskReason,
  type Timer,
  type Timers,
  taskKind,
} from "@supervisor/sdk";
import type { AttemptEnd } from "../core/attempt-outcome.js";
import type { Clock } from "../core/clock.js";
import { chooseRunner } from "../core/routing.js";
import { type LabelSelector, selectorFromRunnerSelector } from "../core/selector.js";
import { readyTimeMs } from "../core/task-lifecycle.js";
import { durationToMs, msToDuration } from "../core/task-spec.js";
import { deleteOutputChunk } from "../db/queries/delete-output-chunk.js";
import { deleteRunner } from "../db/queries/delete-runner.js";
import { getRunner } from "../db/queries/get-runner.js";
import { getRunnerByName } from "../db/queries/get-runner-by-name.js";
import { insertOutputChunk } from "../db/queries/insert-output-chunk.js";
import { listActiveRuns } from "../db/queries/list-active-runs.js";
import { listDispatchableTasks } from "../db/queries/list-dispatchable-tasks.js";
import { outputExtents } from "../db/queries/output-extents.js";
import { decodeRun } from "../db/queries/run-row.js";
import { decodeRunner, upsertRunner } from "../db/queries/runner-rows.js";
import { decodeTask } from "../db/queries/task-row.js";
import { DomainError, type Logger, runnerConnected, runnerNotFound } from "../errors.js";
import type { GroupCommit } from "../store/group-commit.js";
import { OutputCap } from "../store/output-cap.js";
import { assignRun, finishRun, startRun } from "../store/run-ops.js";
import type { TaskChange } from "../store/task-change.js";
import type { TaskStore } from "../store/task-store.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import { DispatchIndex, type PendingEntry } from "./dispatch-index.js";
import { OutputHub } from "./output-hub.js";
import { type RunnerChannel, RunnerSession } from "./runner-session.js";
import { WaitingReasons } from "./waiting-reasons.js";

export interface EngineSettings {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  cancelGracePeriodMs: number;
  outputCapBytes: number;
  /** Runs kept per task; older ones are deleted with their output and counted in the status. */
  runHistoryLimit: number;
  /** The shortest delay before a restart, whatever the backoff says. */
  minRestartDelayMs: number;
}

/** A run the engine is tracking until its end is committed. */
interface ActiveRun {
  runId: string;
  taskId: string;
  runnerId: string;
  slot: string;
  cap: OutputCap;
  lastSeq: number;
  backstop?: Timer;
  /** The run's reports, committed one after another in the order they arrived. */
  reports: Promise<void>;
  /** Chunks accepted but not yet committed, by seq: one the cap pushes out before its commit is never written. */
  unstored: Map<number, { cancelled: boolean }>;
  /** Set once the run's end is decided: the first end wins; later reports are ignored. */
  ending?: Promise<void>;
}

/** How long past a run's deadline (plus the kill grace) the supervisor waits for the runner before ending it itself. */
const DEADLINE_SLACK_MS = 5_000;
/** The most output a runner may send in one message (the runner SDK sends at most this much). */
export const MAX_OUTPUT_MESSAGE_BYTES = 64 * 1024;
/** A timer this late means the process was stalled (SIGSTOP, a long synchronous stretch). */
const STALL_MS = 1_000;

const OUTCOME_PHASE: Record<number, AttemptEnd["phase"]> = {
  [RunOutcome.RUN_OUTCOME_SUCCEEDED]: RunPhase.RUN_PHASE_SUCCEEDED,
  [RunOutcome.RUN_OUTCOME_FAILED]: RunPhase.RUN_PHASE_FAILED,
  [RunOutcome.RUN_OUTCOME_TIMEOUT]: RunPhase.RUN_PHASE_TIMEOUT,
  [RunOutcome.RUN_OUTCOME_CANCELED]: RunPhase.RUN_PHASE_CANCELED,
};

export const runnerNameInUse = (name: string, holder: RunnerSession) =>
  new DomainError(
    status.ALREADY_EXISTS,
    ErrorReason.RUNNER_NAME_IN_USE,
    `runner name ${name} is in use by a live runner` +
      `${holder.channel?.peer ? ` connected from ${holder.channel.peer}` : ""}; give this runner another name`,
    { runner_name: name },
  );

/**
 * Turns stored tasks into work on runners. Everything it knows in memory
 * (pending work, runner sessions, active runs) is rebuilt from SQLite at
 * start-up and kept current from committed changes; every decision is
 * committed before anything is sent to a runner, and a runner is told a
 * report is recorded (ack) only once it is committed.
 */
export class ExecutionEngine {
  readonly outputs = new OutputHub();
  private readonly index = new DispatchIndex<RunnerSession>();
  private readonly sessions = new Map<string, RunnerSession>();
  /** Runners whose lease ran out and whose DISCONNECTED row is not written yet: not to be forgotten meanwhile. */
  private readonly expiring = new Set<string>();
  private readonly sessionsByName = new Map<string, RunnerSession>();
  private readonly activeRuns = new Map<string, ActiveRun>();
  private readonly runByTask = new Map<string, string>();
  private readonly busySlots = new Map<string, number>();
  private readonly cancelsSent = new Set<string>();
  private readonly lastDelayMs = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly retry: CommitRetry;
  private readonly waitingReasons: WaitingReasons;
  private dispatchScheduled = false;
  private wakeTimer: Timer | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  /** After a failed assign, dispatch pauses until then (the store is failing: do not spin). */
  private assignPausedUntilMs = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly commits: GroupCommit,
    private readonly clock: Clock,
    private readonly settings: EngineSettings,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
    private readonly timers: Timers = SYSTEM_TIMERS,
  ) {
    this.retry = { commits, timers, clock, log, signal: this.stopping.signal };
    this.waitingReasons = new WaitingReasons(this.index, store, commits, timers, clock, log);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Rebuilds in-memory state from SQLite and starts listening to committed changes. */
  start(): void {
    const nowMs = this.clock.now();
    for (const row of listDispatchableTasks(this.store.db)) this.trackPending(decodeTask(row.task), nowMs);
    for (const row of listActiveRuns(this.store.db)) {
      const run = decodeRun(row.run);
      let session = this.sessions.get(run.runnerId);
      if (!session) {
        const stored = getRunner(this.store.db, run.runnerId);
        const runner = stored ? decodeRunner(stored.runner) : undefined;
        session = new RunnerSession(
          run.runnerId,
          runner?.name ?? run.runnerName,
          runner?.labels ?? {},
          runner?.kinds ?? [],
          runner?.capacity ?? 1,
          runner?.version ?? "",
          nowMs,
        );
        this.addSession(session);
        this.armLease(session, this.settings.leaseTtlMs); // its runner has one lease to come back and claim them
      }
      const task = this.store.get(run.taskId);
      const active = this.newActiveRun(run.id, run.taskId, run.runnerId, task?.spec?.slot ?? "");
      for (const { seq, offset, size } of outputExtents(this.store.db, run.id)) {
        active.cap.restore(seq, offset, size);
        active.lastSeq = seq;
      }
      this.trackRun(active, session);
      if (task) this.armBackstop(active, durationToMs(task.spec!.timeout!), run.assignTime?.getTime() ?? nowMs);
    }
    this.unsubscribe = this.store.onCommit((changes) => this.onChanges(changes));
    this.waitingReasons.start();
    this.scheduleDispatch();
  }

  /** Shutdown: tell every runner to take nothing new, then end the streams. Runs stay owned for their lease. */
  stop(): void {
    this.stopping.abort();
    this.unsubscribe?.();
    this.waitingReasons.stop();
    this.wakeTimer?.cancel();
    for (const session of this.sessions.values()) {
      session.lease?.cancel();
      session.send({ message: { $case: "drain", value: {} } });
      session.channel?.close({ kind: "shutdown", message: "the supervisor is shutting down" });
    }
    for (const run of this.activeRuns.values()) run.backstop?.cancel();
  }

  // ---- committed task changes ----

  private onChanges(changes: readonly TaskChange[]): void {
    const nowMs = this.clock.now();
    for (const change of changes) {
      const task = change.task;
      const phase = task.status?.phase;
      if (
        change.type !== EventType.EVENT_TYPE_DELETED &&
        phase === TaskPhase.TASK_PHASE_PENDING &&
        task.status!.reason !== TaskReason.SLOT_QUEUED
      ) {
        this.trackPending(task, nowMs);
      } else {
        this.index.remove(task.id);
      }
      if (phase === TaskPhase.TASK_PHASE_RUNNING && task.status!.cancelRequested) this.sendCancel(task);
    }
    if (this.index.size > 0) this.scheduleDispatch();
  }

  private trackPending(task: Task, nowMs: number): void {
    const kind = taskKind(task.spec!);
    if (!kind) return;
    let selector: LabelSelector;
    try {
      selector = selectorFromRunnerSelector(task.spec!.runnerSelector ?? { matchLabels: {}, matchExpressions: [] });
    } catch (error) {
      this.log(`task ${task.id} has an unusable runner selector`, error);
      return;
    }
    const entry: PendingEntry = {
      taskId: task.id,
      priority: task.spec!.priority,
      readyAtMs: readyTimeMs(task),
      slot: task.spec!.slot,
      kind,
      selector,
      reason: task.status!.reason,
    };
    this.index.upsert(entry, nowMs);
  }

  private sendCancel(task: Task): void {
    const runId = this.runByTask.get(task.id);
    if (!runId || this.cancelsSent.has(runId)) return;
    const session = this.sessions.get(this.activeRuns.get(runId)!.runnerId);
    if (!session?.channel) return; // sent when the runner reconnects, or the run is lost with it
    this.cancelsSent.add(runId);
    this.sendCancelRun(session, runId, task.status!.message || "canceled");
  }

  private sendCancelRun(session: RunnerSession | undefined, runId: string, reason: string): void {
    session?.send({
      message: {
        $case: "cancel",
        value: { runId, reason, gracePeriod: msToDuration(this.settings.cancelGracePeriodMs) },
      },
    });
  }

  // ---- dispatch ----

  /** Coalesces every trigger (submit, runner connect, capacity freed, backoff over) into one pass. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.stopped) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.stopped) return;
    const nowMs = this.clock.now();
    if (nowMs < this.assignPausedUntilMs) {
      this.wakeAt(this.assignPausedUntilMs);
      return;
    }
    const nextReadyMs = this.index.promoteDue(nowMs);
    for (let pick = this.index.next(); pick; pick = this.index.next()) {
      const { entry, runners } = pick;
      // A replaced owner may still be stopping: nothing else of its slot starts beside it.
      if (entry.slot && (this.busySlots.get(entry.slot) ?? 0) > 0) {
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
    this.wakeTimer = this.timers.after(timeMs - this.clock.now(), () => {
      this.wakeAtMs = Number.POSITIVE_INFINITY;
      this.scheduleDispatch();
    });
  }

  /** Reserves the runner's capacity and the task now, commits the run, then sends the assign. */
  private assign(entry: PendingEntry, session: RunnerSession): void {
    const runId = this.store.ids.next();
    this.index.remove(entry.taskId);
    const active = this.newActiveRun(runId, entry.taskId, session.id, entry.slot);
    this.trackRun(active, session);
    this.commits
      .run(() => assignRun(this.store, entry.taskId, runId, session, this.settings.runHistoryLimit))
      .then((assigned) => {
        if (!assigned) return this.untrackRun(active); // the task changed under us (canceled): nothing was stored
        const timeoutMs = durationToMs(assigned.task.spec!.timeout!);
        const deadline = new Date(this.clock.now() + timeoutMs);
        this.armBackstop(active, timeoutMs, assigned.run.assignTime?.getTime() ?? this.clock.now());
        session.send({
          message: {
            $case: "assign",
            value: { runId, taskId: entry.taskId, attempt: assigned.run.attempt, spec: assigned.task.spec, deadline },
          },
        });
        if (assigned.task.status!.cancelRequested) this.sendCancel(assigned.task);
      })
      .catch((error: unknown) => {
        this.log(`assigning task ${entry.taskId} failed; it stays pending`, error);
        this.untrackRun(active);
        this.index.upsert(entry, this.clock.now());
        this.assignPausedUntilMs = this.clock.now() + 1_000;
      })
      .finally(() => this.scheduleDispatch());
  }

  private newActiveRun(runId: string, taskId: string, runnerId: string, slot: string): ActiveRun {
    return {
      runId,
      taskId,
      runnerId,
      slot,
      cap: new OutputCap(this.settings.outputCapBytes),
      lastSeq: 0,
      reports: Promise.resolve(),
      unstored: new Map(),
    };
  }

  private trackRun(run: ActiveRun, session: RunnerSession): void {
    this.activeRuns.set(run.runId, run);
    this.runByTask.set(run.taskId, run.runId);
    session.runs.add(run.runId);
    this.index.roomChanged(session);
    if (run.slot) this.busySlots.set(run.slot, (this.busySlots.get(run.slot) ?? 0) + 1);
  }

  private untrackRun(run: ActiveRun): void {
    if (!this.activeRuns.delete(run.runId)) return;
    run.backstop?.cancel();
    if (this.runByTask.get(run.taskId) === run.runId) this.runByTask.delete(run.taskId);
    this.cancelsSent.delete(run.runId);
    const session = this.sessions.get(run.runnerId);
    if (session) {
      session.runs.delete(run.runId);
      this.index.roomChanged(session);
    }
    if (run.slot) {
      const left = (this.busySlots.get(run.slot) ?? 1) - 1;
      if (left > 0) this.busySlots.set(run.slot, left);
      else {
        this.busySlots.delete(run.slot);
        this.index.releaseSlot(run.slot);
      }
    }
  }

  /** If the runner never reports the end, the supervisor ends the run itself after the deadline and the kill grace. */
  private armBackstop(active: ActiveRun, timeoutMs: number, assignedAtMs: number): void {
    const dueMs = assignedAtMs + timeoutMs + this.settings.cancelGracePeriodMs + DEADLINE_SLACK_MS;
    active.backstop = this.timers.after(dueMs - this.clock.now(), () => {
      if (active.ending) return;
      this.sendCancelRun(this.sessions.get(active.runnerId), active.runId, "deadline exceeded");
      void this.finish(active, {
        phase: RunPhase.RUN_PHASE_TIMEOUT,
        error: "the runner did not report the end of the run by its deadline",
      });
    });
  }

  // ---- runner protocol ----

  /**
   * A runner said hello. A known name keeps its id. While the name's current
   * holder is connected and alive, a hello from another instance is refused
   * (two live runners never take turns with one name); the same instance, or
   * a holder gone silent, is replaced. Runs it reports (running, or finished
   * but not acknowledged) and still owns are kept; runs it reports but does
   * not own are canceled or acknowledged; runs it owns but did not report are
   * lost.
   */
  async hello(hello: Hello, channel: RunnerChannel): Promise<RunnerSession> {
    const nowMs = this.clock.now();
    let session = this.sessionsByName.get(hello.name);
    if (session?.channel && session.channel !== channel) {
      const sameInstance = hello.instanceId !== "" && hello.instanceId === session.instanceId;
      const alive = nowMs - session.lastSeenMs < 2 * this.settings.heartbeatIntervalMs;
      if (!sameInstance && alive) throw runnerNameInUse(hello.name, session);
      session.channel.close(
        sameInstance
          ? { kind: "superseded", message: "this runner reconnected on a new stream" }
          : {
              kind: "replaced",
              message: `runner ${hello.name} connected again from a new process; this one went silent`,
            },
      );
    }
    if (session) {
      session.labels = hello.labels;
      session.kinds = hello.kinds;
      session.capacity = hello.capacity;
      session.version = hello.version;
      session.connectTimeMs = nowMs;
    } else {
      const known = getRunnerByName(this.store.db, hello.name);
      session = new RunnerSession(
        known?.id ?? this.store.ids.next(),
        hello.name,
        hello.labels,
        hello.kinds,
        hello.capacity,
        hello.version,
        nowMs,
      );
      this.addSession(session);
    }
    session.instanceId = hello.instanceId;
    session.channel = channel;
    session.draining = false;
    session.lastSeenMs = nowMs;
    this.index.upsertRunner(session);
    this.armLease(session, this.settings.leaseTtlMs);
    // Welcome first: everything else the runner hears on this stream comes after it.
    channel.send({ message: { $case: "welcome", value: { runnerId: session.id, ...this.welcome } } });
    for (const runId of hello.activeRunIds) {
      if (!session.runs.has(runId))
        this.sendCancelRun(session, runId, "the supervisor no longer assigns this run to you");
    }
    // Finished runs it no longer owns: their end is recorded already (or they were lost); it may forget them.
    for (const runId of hello.finishedRunIds) if (!session.runs.has(runId)) session.ack(runId, 0, true);
    const reported = new Set([...hello.activeRunIds, ...hello.finishedRunIds]);
    const forgotten = [...session.runs].filter((runId) => !reported.has(runId));
    const persisted = session.toRunner();
    await this.commits.run(() => upsertRunner(this.store.db, persisted));
    for (const runId of forgotten) {
      void this.finish(this.activeRuns.get(runId)!, {
        phase: RunPhase.RUN_PHASE_LOST,
        error: "the runner reconnected without this run",
      });
    }
    // Cancels requested while it was away.
    for (const runId of session.runs) {
      const task = this.store.get(this.activeRuns.get(runId)!.taskId);
      if (task?.status?.cancelRequested) this.sendCancel(task);
    }
    this.scheduleDispatch();
    return session;
  }

  private addSession(session: RunnerSession): void {
    this.sessions.set(session.id, session);
    this.sessionsByName.set(session.name, session);
    this.index.upsertRunner(session);
  }

  /**
   * The lease is judged lazily: a timer at the earliest moment it could run
   * out. Messages only move lastSeenMs. A timer that fires far too late means
   * this process was stalled: the runners' heartbeats are still queued
   * unread, so the verdict waits until that input has been read.
   */
  private armLease(session: RunnerSession, delayMs: number): void {
    session.lease?.cancel();
    const dueMs = this.clock.now() + delayMs;
    session.lease = this.timers.after(delayMs, () => this.judgeLease(session, dueMs));
  }

  private judgeLease(session: RunnerSession, dueMs: number): void {
    if (this.stopped || this.sessions.get(session.id) !== session) return;
    const nowMs = this.clock.now();
    if (nowMs - dueMs > STALL_MS) {
      this.armLease(session, Math.max(STALL_MS, this.settings.heartbeatIntervalMs));
      return;
    }
    const silentMs = nowMs - session.lastSeenMs;
    if (silentMs >= this.settings.leaseTtlMs) void this.expire(session);
    else this.armLease(session, this.settings.leaseTtlMs - silentMs);
  }

  /** Any message renews the lease; messages about runs the runner does not own are ignored (fencing). */
  onMessage(session: RunnerSession, request: ConnectRequest): void {
    session.lastSeenMs = this.clock.now();
    const message = request.message;
    if (!message) return;
    switch (message.$case) {
      case "heartbeat":
      case "hello":
        return;
      case "runStarted": {
        const active = this.ownedRun(session, message.value.runId);
        if (!active || active.ending) return;
        this.enqueue(active, async () => {
          const run = await commitUntilDone(this.retry, `recording the start of run ${active.runId}`, () =>
            startRun(this.store, active.runId),
          );
          if (run) this.outputs.publish(active.taskId, { kind: "started", run });
        });
        return;
      }
      case "output": {
        const { runId, stream, data, seq, offset } = message.value;
        if (data.length > MAX_OUTPUT_MESSAGE_BYTES) {
          session.channel?.close({
            kind: "protocol",
            message: `an output message carries ${data.length} bytes; at most ${MAX_OUTPUT_MESSAGE_BYTES} per message`,
          });
          return;
        }
        const active = this.ownedRun(session, runId);
        if (active) this.recordOutput(active, stream, data, seq, offset);
        return;
      }
      case "runFinished": {
        const { runId, exitCode, outcome, error, result, outputBytes } = message.value;
        const active = this.ownedRun(session, runId);
        // Not (or no longer) ours: its end is recorded or it was lost; the runner may forget it.
        if (!active) {
          session.ack(runId, 0, true);
          return;
        }
        // A result the store could not serve back readably fails the run instead of poisoning every read of it.
        const resultProblem = result === undefined ? undefined : jsonLimitProblem(result);
        const phase = resultProblem ? RunPhase.RUN_PHASE_FAILED : (OUTCOME_PHASE[outcome] ?? RunPhase.RUN_PHASE_FAILED);
        const why = resultProblem
          ? `result refused: ${resultProblem}`
          : error || (OUTCOME_PHASE[outcome] ? "" : `unknown outcome ${outcome}`);
        void this.finish(active, {
          phase,
          exitCode,
          error: clipText(why, MAX_ERROR_TEXT),
          result: resultProblem ? undefined : result,
          outputBytes,
        });
        return;
      }
    }
  }

  private ownedRun(session: RunnerSession, runId: string): ActiveRun | undefined {
    return session.runs.has(runId) ? this.activeRuns.get(runId) : undefined;
  }

  /** Runs `work` after every earlier report of the run: one run's reports commit in arrival order. */
  private enqueue(active: ActiveRun, work: () => Promise<void>): Promise<void> {
    const next = active.reports.then(work).catch((error: unknown) => {
      if (!this.stopped) this.log(`recording a report of run ${active.runId} failed`, error);
    });
    active.reports = next;
    return next;
  }

  /**
   * Output is accounted for by byte offset as it arrives (so a resend is
   * recognised before the first copy has even committed), then committed in
   * order and acknowledged. A chunk the cap pushes out before its commit is
   * never written, so however far the store lags (a flood, a full disk), what
   * waits for it stays within the cap.
   */
  private recordOutput(
    active: ActiveRun,
    stream: OutputStream,
    data: Buffer,
    seq: number,
    offset: number | undefined,
  ): void {
    if (active.ending || seq <= active.lastSeq || data.length === 0) return;
    const at = offset ?? active.cap.accounted; // a runner that sends no offsets sends no gaps
    const decision = active.cap.add(seq, at, data.length);
    active.lastSeq = seq;
    if (!decision) {
      // Every byte is recorded already, or will be by a report queued before this one: ack after those.
      this.enqueue(active, async () => this.sessions.get(active.runnerId)?.ack(active.runId, seq, false));
      return;
    }
    const kept = data.subarray(decision.skip, decision.skip + decision.keep);
    const keptOffset = at + decision.skip;
    const timeMs = this.clock.now();
    const pending = { cancelled: false };
    active.unstored.set(seq, pending);
    for (const dropped of decision.dropSeqs) {
      // Pushed out before its commit: it is never written (a retry skips it too). Runs commit
      // in order, so the delete below also removes it if it was written after all.
      const unstored = active.unstored.get(dropped);
      if (unstored) unstored.cancelled = true;
      active.unstored.delete(dropped);
    }
    this.enqueue(active, async () => {
      await commitUntilDone(this.retry, `storing output of run ${active.runId}`, () => {
        if (!pending.cancelled) {
          insertOutputChunk(this.store.db, {
            run_id: active.runId,
            seq,
            stream,
            time: timeMs,
            byte_offset: keptOffset,
            data: kept,
          });
        }
        for (const dropped of decision.dropSeqs) deleteOutputChunk(this.store.db, active.runId, dropped);
      });
      active.unstored.delete(seq);
      this.outputs.publish(active.taskId, {
        kind: "chunk",
        chunk: { stream, data: kept, seq, time: new Date(timeMs), offset: keptOffset },
      });
      this.sessions.get(active.runnerId)?.ack(active.runId, seq, false);
    });
  }

  /**
   * Ends a run once: the first end decided wins and later reports about it are
   * ignored. The end is committed after the run's earlier reports, retried
   * until it commits; only then is the runner's capacity freed and the runner
   * told it may forget the run.
   */
  private finish(
    active: ActiveRun,
    end: AttemptEnd & { result?: Record<string, unknown>; outputBytes?: number },
  ): Promise<void> {
    if (active.ending) return active.ending;
    active.backstop?.cancel();
    active.ending = this.enqueue(active, async () => {
      const bytes = Math.max(active.cap.accounted, end.outputBytes ?? 0);
      const output = { bytes, truncated: bytes > active.cap.storedBytes };
      const finished = await commitUntilDone(this.retry, `recording the end of run ${active.runId}`, () =>
        finishRun(this.store, active.runId, end, output, {
          random: this.random,
          previousDelayMs: this.lastDelayMs.get(active.taskId),
          minDelayMs: this.settings.minRestartDelayMs,
        }),
      );
      this.untrackRun(active);
      if (finished?.delayMs !== undefined) this.lastDelayMs.set(active.taskId, finished.delayMs);
      else this.lastDelayMs.delete(active.taskId);
      if (finished) this.outputs.publish(active.taskId, { kind: "finished", run: finished.run });
      this.sessions.get(active.runnerId)?.ack(active.runId, active.lastSeq, true);
      this.scheduleDispatch();
    });
    return active.ending;
  }

  /** The stream ended: the runner keeps its runs until its lease runs out. */
  disconnected(session: RunnerSession, channel: RunnerChannel): void {
    if (session.channel !== channel) return; // an older, replaced connection
    session.channel = undefined;
    this.index.roomChanged(session);
  }

  /** Lease over: the runner is DISCONNECTED and its runs are LOST (failed attempts, retried by policy). */
  private async expire(session: RunnerSession): Promise<void> {
    if (this.stopped || this.sessions.get(session.id) !== session) return;
    this.expiring.add(session.id);
    session.channel?.close({ kind: "lease-expired", message: "lease expired: no heartbeat within the lease TTL" });
    session.channel = undefined;
    this.sessions.delete(session.id);
    this.sessionsByName.delete(session.name);
    this.index.removeRunner(session.id);
    session.lease?.cancel();
    const runner = session.toRunner(RunnerState.RUNNER_STATE_DISCONNECTED);
    const runs = [...session.runs].map((runId) => this.activeRuns.get(runId)!);
    await Promise.all(
      runs.map((active) =>
        this.finish(active, { phase: RunPhase.RUN_PHASE_LOST, error: `runner ${session.name} went away` }),
      ),
    );
    await this.commits
      .run(() => upsertRunner(this.store.db, { ...runner, running: 0 }))
      .catch((error) => this.log("recording a lost runner failed", error))
      .finally(() => this.expiring.delete(session.id));
  }

  /** DrainRunner: no new assignments; running work finishes. */
  async drain(runnerId: string): Promise<Runner> {
    const session = this.sessions.get(runnerId);
    if (!session) {
      const stored = getRunner(this.store.db, runnerId);
      if (!stored) throw runnerNotFound(runnerId);
      return decodeRunner(stored.runner); // disconnected: nothing to drain
    }
    session.draining = true;
    this.index.roomChanged(session);
    session.send({ message: { $case: "drain", value: {} } });
    const runner = session.toRunner();
    await this.commits.run(() => upsertRunner(this.store.db, runner));
    return runner;
  }

  /** UndrainRunner: the runner takes new assignments again (a runner that is not draining is left as it is). */
  async undrain(runnerId: string): Promise<Runner> {
    const session = this.sessions.get(runnerId);
    if (!session) {
      const stored = getRunner(this.store.db, runnerId);
      if (!stored) throw runnerNotFound(runnerId);
      return decodeRunner(stored.runner); // disconnected: it starts undrained when it connects again
    }
    if (!session.draining) return session.toRunner();
    session.draining = false;
    this.index.roomChanged(session);
    const runner = session.toRunner();
    await this.commits.run(() => upsertRunner(this.store.db, runner));
    this.scheduleDispatch();
    return runner;
  }

  /**
   * DeleteRunner: forgets a DISCONNECTED runner's row. A runner the engine
   * still holds (connected, within its lease, or being expired) is refused:
   * forgetting it would only last until its next write.
   */
  async forget(runnerId: string): Promise<Runner> {
    const session = this.sessions.get(runnerId);
    if (session || this.expiring.has(runnerId)) throw runnerConnected(runnerId, session?.name ?? runnerId);
    const stored = getRunner(this.store.db, runnerId);
    if (!stored) throw runnerNotFound(runnerId);
    await this.commits.run(() => deleteRunner(this.store.db, runnerId));
    return decodeRunner(stored.runner);
  }

  /** Live view of a runner (connected or within its lease), if the engine has it. */
  liveRunner(runnerId: string): Runner | undefined {
    return this.sessions.get(runnerId)?.toRunner();
  }

  /** In-memory output figures of an active run (the stored Run row is updated when it ends). */
  liveOutput(runId: string): { bytes: number; truncated: boolean } | undefined {
    const active = this.activeRuns.get(runId);
    return active && { bytes: active.cap.accounted, truncated: active.cap.truncated };
  }

  get welcome() {
    return {
      heartbeatInterval: msToDuration(this.settings.heartbeatIntervalMs),
      leaseTtl: msToDuration(this.settings.leaseTtlMs),
      outputCapBytes: this.settings.outputCapBytes,
    };
  }
}
