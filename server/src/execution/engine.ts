import {
  type ConnectRequest,
  type ConnectRequest_Hello as Hello,
  jsonLimitProblem,
  type OutputStream,
  type Run,
  type RunnerInfo as Runner,
  RunnerState,
  RunOutcome,
  RunPhase,
  type Task,
  TaskPhase,
  TaskReason,
  taskKind,
} from "@supervisor/sdk";
import type { AttemptEnd } from "../core/attempt-outcome.js";
import type { Clock } from "../core/clock.js";
import { chooseRunner } from "../core/routing.js";
import { selectorFromRunnerSelector } from "../core/selector.js";
import { readyTimeMs } from "../core/task-lifecycle.js";
import { durationToMs, msToDuration } from "../core/task-spec.js";
import { deleteOutputChunk } from "../db/queries/delete-output-chunk.js";
import { getRunner } from "../db/queries/get-runner.js";
import { getRunnerByName } from "../db/queries/get-runner-by-name.js";
import { insertOutputChunk } from "../db/queries/insert-output-chunk.js";
import { listActiveRuns } from "../db/queries/list-active-runs.js";
import { listDispatchableTasks } from "../db/queries/list-dispatchable-tasks.js";
import { outputSizes } from "../db/queries/output-sizes.js";
import { decodeRun } from "../db/queries/run-row.js";
import { decodeRunner, upsertRunner } from "../db/queries/runner-rows.js";
import { decodeTask } from "../db/queries/task-row.js";
import { type Logger, runnerNotFound } from "../errors.js";
import type { GroupCommit } from "../store/group-commit.js";
import { OutputCap } from "../store/output-cap.js";
import { assignRun, finishRun, startRun } from "../store/run-ops.js";
import type { TaskChange } from "../store/task-change.js";
import type { TaskStore } from "../store/task-store.js";
import { OutputHub } from "./output-hub.js";
import { type PendingEntry, PendingIndex } from "./pending-index.js";
import { type RunnerChannel, RunnerSession } from "./runner-session.js";

export interface EngineSettings {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  cancelGracePeriodMs: number;
  outputCapBytes: number;
}

/** A run the engine is tracking until it ends. */
interface ActiveRun {
  runId: string;
  taskId: string;
  runnerId: string;
  slot: string;
  cap: OutputCap;
  lastSeq: number;
  backstop?: NodeJS.Timeout;
}

/** How long past a run's deadline (plus the kill grace) the supervisor waits for the runner before ending it itself. */
const DEADLINE_SLACK_MS = 5_000;

const OUTCOME_PHASE: Record<number, AttemptEnd["phase"]> = {
  [RunOutcome.RUN_OUTCOME_SUCCEEDED]: RunPhase.RUN_PHASE_SUCCEEDED,
  [RunOutcome.RUN_OUTCOME_FAILED]: RunPhase.RUN_PHASE_FAILED,
  [RunOutcome.RUN_OUTCOME_TIMEOUT]: RunPhase.RUN_PHASE_TIMEOUT,
  [RunOutcome.RUN_OUTCOME_CANCELED]: RunPhase.RUN_PHASE_CANCELED,
};

/**
 * Turns stored tasks into work on runners. Everything it knows in memory
 * (pending order, runner sessions, active runs) is rebuilt from SQLite at
 * start-up and kept current from committed changes; every decision is
 * committed before anything is sent to a runner.
 */
export class ExecutionEngine {
  readonly outputs = new OutputHub();
  private readonly pending = new PendingIndex();
  private readonly sessions = new Map<string, RunnerSession>();
  private readonly sessionsByName = new Map<string, RunnerSession>();
  private readonly activeRuns = new Map<string, ActiveRun>();
  private readonly runByTask = new Map<string, string>();
  private readonly busySlots = new Map<string, number>();
  private readonly cancelsSent = new Set<string>();
  private readonly lastDelayMs = new Map<string, number>();
  private dispatchScheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAtMs = Infinity;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly commits: GroupCommit,
    private readonly clock: Clock,
    private readonly settings: EngineSettings,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** Rebuilds in-memory state from SQLite and starts listening to committed changes. */
  start(): void {
    for (const row of listDispatchableTasks(this.store.db)) this.trackPending(decodeTask(row.task));
    const nowMs = this.clock.now();
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
        this.renewLease(session); // its runner has one lease to come back and claim them
      }
      const task = this.store.get(run.taskId);
      const cap = new OutputCap(this.settings.outputCapBytes);
      let lastSeq = 0;
      for (const { seq, size } of outputSizes(this.store.db, run.id)) {
        cap.add(seq, size);
        lastSeq = seq;
      }
      this.trackRun(
        { runId: run.id, taskId: run.taskId, runnerId: run.runnerId, slot: task?.spec?.slot ?? "", cap, lastSeq },
        session,
      );
      if (task) this.armBackstop(this.activeRuns.get(run.id)!, task, run);
    }
    this.unsubscribe = this.store.onCommit((changes) => this.onChanges(changes));
    this.scheduleDispatch();
  }

  /** Shutdown: tell every runner to take nothing new, then end the streams. Runs stay owned for their lease. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.wakeTimer);
    for (const session of this.sessions.values()) {
      clearTimeout(session.leaseTimer);
      session.send({ message: { $case: "drain", value: {} } });
      session.channel?.close("the supervisor is shutting down");
    }
    for (const run of this.activeRuns.values()) clearTimeout(run.backstop);
  }

  // ---- committed task changes ----

  private onChanges(changes: readonly TaskChange[]): void {
    for (const change of changes) {
      const task = change.task;
      const phase = task.status?.phase;
      if (
        change.type !== 3 /* DELETED */ &&
        phase === TaskPhase.TASK_PHASE_PENDING &&
        task.status!.reason !== TaskReason.SLOT_QUEUED
      ) {
        this.trackPending(task);
      } else {
        this.pending.remove(task.id);
      }
      if (phase === TaskPhase.TASK_PHASE_RUNNING && task.status!.cancelRequested) this.sendCancel(task);
    }
    if (this.pending.size > 0) this.scheduleDispatch();
  }

  private trackPending(task: Task): void {
    const kind = taskKind(task.spec!);
    if (!kind) return;
    let selector: ReturnType<typeof selectorFromRunnerSelector>;
    try {
      selector = selectorFromRunnerSelector(task.spec!.runnerSelector ?? { matchLabels: {}, matchExpressions: [] });
    } catch (error) {
      this.log(`task ${task.id} has an unusable runner selector`, error);
      return;
    }
    this.pending.upsert({
      taskId: task.id,
      priority: task.spec!.priority,
      readyAtMs: readyTimeMs(task),
      slot: task.spec!.slot,
      kind,
      selector,
    });
  }

  private sendCancel(task: Task): void {
    const runId = this.runByTask.get(task.id);
    if (!runId || this.cancelsSent.has(runId)) return;
    const session = this.sessions.get(this.activeRuns.get(runId)!.runnerId);
    if (!session?.channel) return; // sent when the runner reconnects, or the run is lost with it
    this.cancelsSent.add(runId);
    session.send({
      message: {
        $case: "cancel",
        value: {
          runId,
          reason: task.status!.message || "canceled",
          gracePeriod: msToDuration(this.settings.cancelGracePeriodMs),
        },
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

  private freeCapacity(): boolean {
    for (const session of this.sessions.values())
      if (session.acceptsWork && session.running < session.capacity) return true;
    return false;
  }

  private dispatch(): void {
    if (this.stopped || this.pending.size === 0 || !this.freeCapacity()) return;
    const nowMs = this.clock.now();
    let nextWakeMs = Infinity;
    // Walks the live index: an assigned entry is removed, so the same index then holds the next one.
    for (let index = 0, entry = this.pending.at(0); entry; entry = this.pending.at(index)) {
      if (entry.readyAtMs > nowMs) {
        nextWakeMs = Math.min(nextWakeMs, entry.readyAtMs);
        index++;
        continue;
      }
      // A replaced owner may still be stopping: nothing else of its slot starts beside it.
      const session =
        entry.slot && (this.busySlots.get(entry.slot) ?? 0) > 0
          ? undefined
          : chooseRunner(this.sessions.values(), entry);
      if (!session) {
        index++;
        continue;
      }
      this.assign(entry, session);
      if (!this.freeCapacity()) break;
    }
    this.wakeAt(nextWakeMs);
  }

  private wakeAt(timeMs: number): void {
    if (timeMs === Infinity || timeMs >= this.wakeAtMs) return;
    clearTimeout(this.wakeTimer);
    this.wakeAtMs = timeMs;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAtMs = Infinity;
        this.scheduleDispatch();
      },
      Math.max(0, timeMs - this.clock.now()),
    );
    this.wakeTimer.unref();
  }

  /** Reserves the runner's capacity and the task now, commits the run, then sends the assign. */
  private assign(entry: PendingEntry, session: RunnerSession): void {
    const runId = this.store.ids.next();
    this.pending.remove(entry.taskId);
    const active: ActiveRun = {
      runId,
      taskId: entry.taskId,
      runnerId: session.id,
      slot: entry.slot,
      cap: new OutputCap(this.settings.outputCapBytes),
      lastSeq: 0,
    };
    this.trackRun(active, session);
    this.commits
      .run(() => assignRun(this.store, entry.taskId, runId, session))
      .then((assigned) => {
        if (!assigned) return this.untrackRun(active); // the task changed under us (canceled): nothing was stored
        const deadline = new Date(this.clock.now() + durationToMs(assigned.task.spec!.timeout!));
        this.armBackstop(active, assigned.task, assigned.run);
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
        this.pending.upsert(entry);
      })
      .finally(() => this.scheduleDispatch());
  }

  private trackRun(run: ActiveRun, session: RunnerSession): void {
    this.activeRuns.set(run.runId, run);
    this.runByTask.set(run.taskId, run.runId);
    session.runs.add(run.runId);
    if (run.slot) this.busySlots.set(run.slot, (this.busySlots.get(run.slot) ?? 0) + 1);
  }

  private untrackRun(run: ActiveRun): void {
    if (!this.activeRuns.delete(run.runId)) return;
    clearTimeout(run.backstop);
    if (this.runByTask.get(run.taskId) === run.runId) this.runByTask.delete(run.taskId);
    this.cancelsSent.delete(run.runId);
    this.sessions.get(run.runnerId)?.runs.delete(run.runId);
    if (run.slot) {
      const left = (this.busySlots.get(run.slot) ?? 1) - 1;
      if (left > 0) this.busySlots.set(run.slot, left);
      else this.busySlots.delete(run.slot);
    }
  }

  /** If the runner never reports the end, the supervisor ends the run itself after the deadline and the kill grace. */
  private armBackstop(active: ActiveRun, task: Task, run: Run): void {
    const startMs = run.assignTime?.getTime() ?? this.clock.now();
    const dueMs = startMs + durationToMs(task.spec!.timeout!) + this.settings.cancelGracePeriodMs + DEADLINE_SLACK_MS;
    active.backstop = setTimeout(
      () => {
        this.sendCancelRun(active, "deadline exceeded");
        void this.finish(active.runId, {
          phase: RunPhase.RUN_PHASE_TIMEOUT,
          error: "the runner did not report the end of the run by its deadline",
        });
      },
      Math.max(0, dueMs - this.clock.now()),
    );
    active.backstop.unref();
  }

  private sendCancelRun(active: ActiveRun, reason: string): void {
    this.sessions.get(active.runnerId)?.send({
      message: {
        $case: "cancel",
        value: { runId: active.runId, reason, gracePeriod: msToDuration(this.settings.cancelGracePeriodMs) },
      },
    });
  }

  // ---- runner protocol ----

  /**
   * A runner said hello: it is welcomed at once. A known name keeps its id; a
   * live older connection of the same name is replaced. Runs it reports and still owns are kept,
   * runs it reports but does not own are canceled, runs it owns but did not
   * report are lost.
   */
  async hello(hello: Hello, channel: RunnerChannel): Promise<RunnerSession> {
    const nowMs = this.clock.now();
    let session = this.sessionsByName.get(hello.name);
    if (session) {
      if (session.channel && session.channel !== channel)
        session.channel.close("replaced by a new connection with the same runner name");
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
    session.channel = channel;
    session.draining = false;
    session.lastSeenMs = nowMs;
    this.renewLease(session);
    // Welcome first: everything else the runner hears on this stream comes after it.
    channel.send({ message: { $case: "welcome", value: { runnerId: session.id, ...this.welcome } } });
    const reported = new Set(hello.activeRunIds);
    for (const runId of reported) {
      if (!session.runs.has(runId))
        channel.send({
          message: { $case: "cancel", value: { runId, reason: "the supervisor no longer assigns this run to you" } },
        });
    }
    const forgotten = [...session.runs].filter((runId) => !reported.has(runId));
    const persisted = session.toRunner();
    await this.commits.run(() => upsertRunner(this.store.db, persisted));
    await Promise.all(
      forgotten.map((runId) =>
        this.finish(runId, { phase: RunPhase.RUN_PHASE_LOST, error: "the runner reconnected without this run" }),
      ),
    );
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
  }

  private renewLease(session: RunnerSession): void {
    if (session.leaseTimer) {
      session.leaseTimer.refresh();
      return;
    }
    session.leaseTimer = setTimeout(() => void this.expire(session), this.settings.leaseTtlMs);
    session.leaseTimer.unref();
  }

  /** Any message renews the lease; messages about runs the runner does not own are ignored (fencing). */
  async onMessage(session: RunnerSession, request: ConnectRequest): Promise<void> {
    session.lastSeenMs = this.clock.now();
    this.renewLease(session);
    const message = request.message;
    if (!message) return;
    switch (message.$case) {
      case "heartbeat":
      case "hello":
        return;
      case "runStarted": {
        if (!session.runs.has(message.value.runId)) return;
        const active = this.activeRuns.get(message.value.runId)!;
        const run = await this.commits.run(() => startRun(this.store, message.value.runId));
        if (run) this.outputs.publish(active.taskId, { kind: "started", run });
        return;
      }
      case "output": {
        const { runId, stream, data, seq } = message.value;
        if (!session.runs.has(runId)) return;
        return this.recordOutput(this.activeRuns.get(runId)!, stream, data, seq);
      }
      case "runFinished": {
        const { runId, exitCode, outcome, error, result } = message.value;
        if (!session.runs.has(runId)) return;
        // A result the store could not serve back readably fails the run instead of poisoning every read of it.
        const resultProblem = result === undefined ? undefined : jsonLimitProblem(result);
        if (resultProblem) {
          await this.finish(runId, {
            phase: RunPhase.RUN_PHASE_FAILED,
            exitCode,
            error: `result refused: ${resultProblem}`,
          });
          return;
        }
        const phase = OUTCOME_PHASE[outcome] ?? RunPhase.RUN_PHASE_FAILED;
        await this.finish(runId, {
          phase,
          exitCode,
          error: error || (OUTCOME_PHASE[outcome] ? "" : `unknown outcome ${outcome}`),
          result,
        });
        return;
      }
    }
  }

  private async recordOutput(active: ActiveRun, stream: OutputStream, data: Buffer, seq: number): Promise<void> {
    if (seq <= active.lastSeq || data.length === 0) return; // resent after a reconnect, or empty
    active.lastSeq = seq;
    const { keepBytes, dropSeqs } = active.cap.add(seq, data.length);
    const kept = keepBytes === data.length ? data : data.subarray(data.length - keepBytes);
    const timeMs = this.clock.now();
    await this.commits.run(() => {
      insertOutputChunk(this.store.db, { run_id: active.runId, seq, stream, time: timeMs, data: kept });
      for (const dropped of dropSeqs) deleteOutputChunk(this.store.db, active.runId, dropped);
    });
    this.outputs.publish(active.taskId, { kind: "chunk", chunk: { stream, data, seq, time: new Date(timeMs) } });
  }

  /** Ends a run once (any later report about it is ignored) and frees its runner's capacity. */
  private async finish(runId: string, end: AttemptEnd & { result?: Record<string, unknown> }): Promise<void> {
    const active = this.activeRuns.get(runId);
    if (!active) return;
    this.untrackRun(active);
    const cap = active.cap;
    try {
      const finished = await this.commits.run(() =>
        finishRun(
          this.store,
          runId,
          end,
          {
            bytes: cap.totalBytes,
            truncated: cap.truncated,
            headSeq: cap.truncated ? cap.headSeq : 0,
            dropped: cap.droppedBytes,
          },
          this.random,
          this.lastDelayMs.get(active.taskId),
        ),
      );
      if (finished?.delayMs !== undefined) this.lastDelayMs.set(active.taskId, finished.delayMs);
      else this.lastDelayMs.delete(active.taskId);
      if (finished) this.outputs.publish(active.taskId, { kind: "finished", run: finished.run });
    } catch (error) {
      this.log(`recording the end of run ${runId} failed`, error);
    }
    this.scheduleDispatch();
  }

  /** The stream ended: the runner keeps its runs until its lease runs out. */
  disconnected(session: RunnerSession, channel: RunnerChannel): void {
    if (session.channel !== channel) return; // an older, replaced connection
    session.channel = undefined;
  }

  /** Lease over: the runner is DISCONNECTED and its runs are LOST (failed attempts, retried by policy). */
  private async expire(session: RunnerSession): Promise<void> {
    if (this.stopped || this.sessions.get(session.id) !== session) return;
    session.channel?.close("lease expired: no heartbeat within the lease TTL");
    session.channel = undefined;
    this.sessions.delete(session.id);
    this.sessionsByName.delete(session.name);
    clearTimeout(session.leaseTimer);
    const runner = session.toRunner(RunnerState.RUNNER_STATE_DISCONNECTED);
    const runs = [...session.runs];
    await Promise.all(
      runs.map((runId) =>
        this.finish(runId, { phase: RunPhase.RUN_PHASE_LOST, error: `runner ${session.name} went away` }),
      ),
    );
    await this.commits
      .run(() => upsertRunner(this.store.db, { ...runner, running: 0 }))
      .catch((error) => this.log("recording a lost runner failed", error));
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
    session.send({ message: { $case: "drain", value: {} } });
    const runner = session.toRunner();
    await this.commits.run(() => upsertRunner(this.store.db, runner));
    return runner;
  }

  /** Live view of a runner (connected or within its lease), if the engine has it. */
  liveRunner(runnerId: string): Runner | undefined {
    return this.sessions.get(runnerId)?.toRunner();
  }

  /** In-memory output figures of an active run (the stored Run row is updated when it ends). */
  liveOutput(runId: string): { bytes: number; truncated: boolean; headSeq: number; dropped: number } | undefined {
    const active = this.activeRuns.get(runId);
    return (
      active && {
        bytes: active.cap.totalBytes,
        truncated: active.cap.truncated,
        headSeq: active.cap.headSeq,
        dropped: active.cap.droppedBytes,
      }
    );
  }

  get welcome() {
    return {
      heartbeatInterval: msToDuration(this.settings.heartbeatIntervalMs),
      leaseTtl: msToDuration(this.settings.leaseTtlMs),
    };
  }
}
