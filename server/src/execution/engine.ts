import {
  type ConnectRequest,
  clipText,
  EventType,
  type ConnectRequest_Hello as Hello,
  jsonLimitProblem,
  MAX_ERROR_TEXT,
  type RunnerInfo as Runner,
  RunOutcome,
  RunPhase,
  SYSTEM_TIMERS,
  type Task,
  TaskPhase,
  type Timers,
} from "@supervisor/sdk";
import { type Leadership, soleLeadership } from "../cluster/leadership.js";
import type { AttemptEnd } from "../core/attempt-outcome.js";
import type { Clock } from "../core/clock.js";
import type { IdGenerator } from "../core/ids.js";
import { msToDuration } from "../core/task-spec.js";
import type { Logger } from "../errors.js";
import type { MetricSources, ServerMetrics } from "../metrics/server-metrics.js";
import type { StorageBackend, TaskChange } from "../store/backend.js";
import type { GroupCommit } from "../store/group-commit.js";
import { loseUnclaimedWrite, pinnedRunnerGoneWrite } from "../store/writes.js";
import { acceptedInitStep, acceptedLogUrl, acceptedRetryAfter } from "../validation/run-report.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import { Dispatcher, type DispatcherSettings } from "./dispatcher.js";
import { FanOutDuty } from "./fan-out-duty.js";
import { idleKeysDuty } from "./idle-keys.js";
import { type Duty, LeaderDuties, leaderCommits, underEpoch } from "./leader-duties.js";
import { OutputHub } from "./output-hub.js";
import { OutputRecorder } from "./output-recorder.js";
import type { RemoteRunner } from "./remote-runner.js";
import { liveServers, RemoteRunners } from "./remote-runners.js";
import { Rescuer } from "./rescuer.js";
import { RunDelivery } from "./run-delivery.js";
import { type ActiveRun, RunTracker, type RunTrackerSettings } from "./run-tracker.js";
import { type RegistrySettings, RunnerRegistry } from "./runner-registry.js";
import type { RunnerChannel, RunnerSession } from "./runner-session.js";
import { WaitingReasons } from "./waiting-reasons.js";

export interface EngineSettings extends RegistrySettings, RunTrackerSettings, DispatcherSettings {}

export interface EngineDeps {
  backend: StorageBackend;
  commits: GroupCommit;
  ids: IdGenerator;
  clock: Clock;
  log: Logger;
  timers?: Timers;
  random?: () => number;
  /** Who leads when several servers share the database (default: this server, always). */
  leadership?: Leadership;
  /** This server's metrics (counted where things happen). */
  metrics?: ServerMetrics;
}

/** How often a server checks, besides on every change, whether one of its runners moved to another server. */
const RUNNERS_RECONCILE_MS = 1_000;

/** The most output a runner may send in one message (the runner SDK sends at most this much). */
export const MAX_OUTPUT_MESSAGE_BYTES = 64 * 1024;

const OUTCOME_PHASE: Record<number, AttemptEnd["phase"]> = {
  [RunOutcome.RUN_OUTCOME_SUCCEEDED]: RunPhase.RUN_PHASE_SUCCEEDED,
  [RunOutcome.RUN_OUTCOME_FAILED]: RunPhase.RUN_PHASE_FAILED,
  [RunOutcome.RUN_OUTCOME_TIMEOUT]: RunPhase.RUN_PHASE_TIMEOUT,
  [RunOutcome.RUN_OUTCOME_CANCELED]: RunPhase.RUN_PHASE_CANCELED,
};

/**
 * Turns stored tasks into work on runners. Its parts, each with one job:
 * the Dispatcher (pending work, routing, assigns), the RunnerRegistry
 * (sessions, names, leases), the RunTracker (active runs, their reports and
 * backstops), the OutputRecorder (caps and chunks), the Rescuer (lost and late
 * runs, start-up) and WaitingReasons. Everything they hold in memory is
 * rebuilt from the store at start-up; every decision is committed before
 * anything is sent to a runner, and a runner is told a report is recorded
 * (ack) only once it is committed.
 */
export class ExecutionEngine {
  readonly outputs = new OutputHub();
  readonly registry: RunnerRegistry;
  readonly tracker: RunTracker;
  readonly dispatcher: Dispatcher;
  private readonly recorder: OutputRecorder;
  private readonly rescuer: Rescuer;
  private readonly waitingReasons: WaitingReasons;
  private readonly remotes: RemoteRunners;
  private readonly delivery: RunDelivery;
  private readonly duties: LeaderDuties;
  private readonly fanOut: FanOutDuty;
  private readonly retry: CommitRetry;
  /** Other servers write the same database (their runners, their commits, a leader elsewhere). */
  private readonly shared: boolean;
  /** The epoch the leader's writes carry (several servers); undefined for a server alone on its database. */
  private readonly epoch: () => number | undefined;
  private readonly stopping = new AbortController();
  private readonly unsubscribe: (() => void)[] = [];
  private runnersReconcile: { cancel(): void } | undefined;
  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;

  constructor(
    private readonly deps: EngineDeps,
    private readonly settings: EngineSettings,
  ) {
    const { backend, commits, ids, clock, log } = deps;
    const timers = deps.timers ?? SYSTEM_TIMERS;
    const retry: CommitRetry = { commits, timers, clock, log, signal: this.stopping.signal };
    this.retry = retry;
    this.shared = backend.shared === true;
    const leadership = deps.leadership ?? soleLeadership("");
    // A deposed leader carries epoch 0, which the store refuses.
    this.epoch = () => (this.shared ? (leadership.epoch() ?? 0) : undefined);
    const session = (runnerId: string) => this.registry.get(runnerId);
    this.tracker = new RunTracker(
      {
        retry,
        clock,
        timers,
        log,
        random: deps.random ?? Math.random,
        outputs: this.outputs,
        session,
        owner: (runnerId) => this.registry.get(runnerId) ?? this.remotes.get(runnerId),
        runEnded: (run, owner) => {
          if (owner) this.dispatcher.index.roomChanged(owner);
          if (run.slot && !this.tracker.slotBusy(run.slot)) this.dispatcher.index.releaseSlot(run.slot, clock.now());
          for (const key of run.keys) this.dispatcher.keyFreed(key);
          this.dispatcher.schedule();
        },
        late: (run) => this.rescuer.late(run),
      },
      settings,
    );
    this.dispatcher = new Dispatcher(
      {
        commits,
        ids,
        clock,
        timers,
        log,
        tracker: this.tracker,
        retry,
        leaderEpoch: this.epoch,
        metrics: deps.metrics,
      },
      settings,
    );
    this.registry = new RunnerRegistry(
      backend,
      commits,
      ids,
      clock,
      timers,
      settings,
      {
        changed: (runner) => this.dispatcher.index.upsertRunner(runner),
        roomChanged: (runner) => {
          this.dispatcher.index.roomChanged(runner);
          this.dispatcher.schedule();
        },
        expired: (runner) => {
          deps.metrics?.leaseExpiries.inc();
          return this.rescuer.expired(runner);
        },
        handedOver: (runner) => this.handedOver(runner),
      },
      log,
      this.shared ? { serverId: backend.serverId, liveServers: () => liveServers(backend) } : undefined,
    );
    this.recorder = new OutputRecorder({
      retry,
      clock,
      outputs: this.outputs,
      tracker: this.tracker,
      session,
      metrics: deps.metrics,
    });
    this.rescuer = new Rescuer(backend, this.registry, this.tracker, this.dispatcher, clock, this.shared);
    const leaderWrites = leaderCommits(commits, this.epoch);
    this.waitingReasons = new WaitingReasons(this.dispatcher.index, leaderWrites, timers, clock, log, (held) =>
      this.dispatcher.heldVerdict(held),
    );
    this.remotes = new RemoteRunners({
      backend,
      serverId: backend.serverId,
      clock,
      timers,
      log,
      leaseTtlMs: settings.leaseTtlMs,
      index: this.dispatcher.index,
      tracker: this.tracker,
      local: session,
      expired: (runner) => this.loseUnserved(runner),
      schedule: () => this.dispatcher.schedule(),
    });
    this.delivery = new RunDelivery(backend, this.registry, this.tracker, clock, log, deps.metrics);
    this.duties = new LeaderDuties({
      leadership,
      backend,
      shared: this.shared,
      dispatcher: this.dispatcher,
      waitingReasons: this.waitingReasons,
      remotes: this.remotes,
      rescuer: this.rescuer,
      registry: this.registry,
      tracker: this.tracker,
      clock,
      timers,
      log,
    });
    this.fanOut = new FanOutDuty({
      backend,
      retry,
      asLeader: (write) => underEpoch(write, this.epoch),
      runners: () => this.dispatcher.index.knownRunners(),
    });
    this.dispatcher.index.runnerSeen = (runner) => this.fanOut.runnerSeen(runner);
    this.duties.add(this.fanOut.duty);
    this.duties.add(idleKeysDuty(this.dispatcher.rates, leaderWrites, clock, timers, log));
    // Runners deleted while no server led: their pinned tasks end once one leads.
    this.duties.add(() => {
      void this.endPinnedToDeleted().catch((error) => deps.log("ending tasks pinned to a deleted runner", error));
      return () => {};
    });
  }

  /**
   * Rebuilds in-memory state from the store and starts following committed changes. With several servers
   * every server follows every commit (to deliver assigns and cancels to its runners), and the leader's
   * work starts whenever this server leads.
   */
  async start(): Promise<void> {
    const { backend } = this.deps;
    if (!this.shared) {
      await this.duties.start();
      this.unsubscribe.push(backend.onCommit((changes) => this.onChanges(changes)));
      return;
    }
    this.unsubscribe.push(backend.onCommit((changes) => this.onChanges(changes)));
    const changed = backend.onRunnersChanged?.(() => this.runnersChanged());
    if (changed) this.unsubscribe.push(changed);
    const timers = this.deps.timers ?? SYSTEM_TIMERS;
    this.runnersReconcile = timers.every(RUNNERS_RECONCILE_MS, () => this.runnersChanged());
    await this.duties.start();
  }

  /** Whether this server leads now (dispatches, and counts every runner's runs and every key). */
  get leading(): boolean {
    return this.duties.leading;
  }

  /** What the metrics' gauges read on a scrape: sizes kept anyway, nothing per task. */
  metricSources(): MetricSources {
    return {
      leading: () => this.duties.leading,
      pendingByReason: () => this.dispatcher.index.pendingByReason,
      running: () => this.tracker.active.size,
      runners: () =>
        Array.from(this.registry.all(), (session) => ({
          name: session.name,
          running: session.running,
          capacity: session.capacity,
          // A session without a stream is a runner awaited within its lease (after a restart or a disconnect).
          state: !session.channel ? "disconnected" : session.draining ? "draining" : "connected",
        })),
    };
  }

  /** A runner's pool for metrics: its `pool` label ("" without one, or when this server does not know it). */
  runnerPool(runnerId: string): string {
    return (this.registry.get(runnerId) ?? this.remotes.get(runnerId))?.labels.pool ?? "";
  }

  /** Writes of the leader's work (retention): they carry the leader epoch when several servers share the store. */
  get leaderWrites(): Pick<GroupCommit, "run"> {
    return leaderCommits(this.deps.commits, this.epoch);
  }

  /** Runs `duty` whenever this server leads (always, alone on its database): retention. */
  whileLeading(duty: Duty): void {
    this.duties.add(duty);
  }

  /** Shutdown, first step: the leader's work stops (its sweep finishes). */
  stopLeading(): Promise<void> {
    return this.duties.stop();
  }

  /** Shutdown: runners hear "drain", then their streams end; their runs stay owned for a lease. */
  stop(): void {
    this.stopping.abort();
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.runnersReconcile?.cancel();
    this.waitingReasons.stop();
    this.dispatcher.stop();
    this.registry.stop();
    this.tracker.stop();
  }

  private onChanges(changes: readonly TaskChange[]): void {
    const nowMs = this.deps.clock.now();
    for (const { task, type } of changes) {
      this.dispatcher.follow(task, type === EventType.EVENT_TYPE_DELETED, nowMs);
      this.fanOut.follow(task, type === EventType.EVENT_TYPE_DELETED);
      if (this.shared) this.followElsewhere(task);
      if (task.status?.phase === TaskPhase.TASK_PHASE_RUNNING && task.status.cancelRequested) {
        this.tracker.sendCancel(task);
      }
    }
    if (this.dispatcher.index.size > 0) this.dispatcher.schedule();
  }

  /**
   * Several servers: a change another server made to a task whose run is tracked here. A run counted on a
   * runner of another server ended there; a run of a runner connected here that another server ended (it
   * took the runner for gone) is canceled on the runner and forgotten. Then: an assign for a runner
   * connected here is delivered.
   */
  private followElsewhere(task: Task): void {
    const run = this.tracker.runOfTask(task.id);
    const status = task.status!;
    if (run && !run.assigning && !run.ending) {
      const stillOn = status.phase === TaskPhase.TASK_PHASE_RUNNING && status.runnerId === run.runnerId;
      if (!stillOn) {
        const remote = this.remotes.get(run.runnerId);
        if (!remote?.runs.has(run.runId)) {
          this.tracker.cancelRun(this.registry.get(run.runnerId), run.runId, "another server ended this run");
        }
        this.tracker.untrack(run);
      }
    }
    this.delivery.follow(task);
  }

  /** Another server changed the runners table (or a second passed): runners moved, and what the leader routes to. */
  private runnersChanged(): void {
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = (async () => {
      do {
        this.reconcileAgain = false;
        await this.registry.reconcile();
        if (this.duties.leading) {
          await this.remotes.refresh();
          await this.endPinnedToDeleted();
        }
      } while (this.reconcileAgain && !this.stopping.signal.aborted);
    })()
      .catch((error) => this.deps.log("reading the runners table failed", error))
      .finally(() => {
        this.reconciling = undefined;
      });
  }

  /** A runner of this server connected to another one: its runs are served there (the leader counts them there). */
  private handedOver(session: RunnerSession): void {
    const runs = [...session.runs].map((runId) => this.tracker.get(runId)).filter((run) => run !== undefined);
    this.dispatcher.index.removeRunner(session.id);
    for (const run of runs) this.tracker.untrack(run);
    if (this.duties.leading) void this.countElsewhere(session, runs);
  }

  private async countElsewhere(session: RunnerSession, runs: readonly ActiveRun[]): Promise<void> {
    const remote = await this.remotes.adopt(session.id, session.name);
    for (const run of runs) {
      if (!this.tracker.get(run.runId)) {
        this.tracker.track(this.tracker.newRun(run.runId, run.taskId, run.runnerId, run.slot, run.keys), remote);
      }
    }
    await this.remotes.refresh();
  }

  /** The leader: a runner nobody served for a lease (its server died) loses its runs, unless it connected again. */
  private async loseUnserved(remote: RemoteRunner): Promise<void> {
    const options = { random: this.deps.random ?? Math.random, minDelayMs: this.settings.minRestartDelayMs };
    const why = `runner ${remote.name} went away with its server`;
    await Promise.all(
      [...remote.runs].map(async (runId) => {
        const run = this.tracker.get(runId);
        if (!run) return;
        const write = underEpoch(loseUnclaimedWrite(run, remote.record, why, options), this.epoch);
        const lost = await commitUntilDone(this.retry, `losing run ${runId}`, write).catch(() => undefined);
        if (lost) this.tracker.untrack(run);
      }),
    );
  }

  /**
   * Several servers: the runs the store says this runner owns, tracked here from now on — those it had on
   * another server, or that the leader counted on it there.
   */
  private async adoptStoredRuns(session: RunnerSession): Promise<void> {
    const runs = (await this.deps.backend.activeRuns()).filter(
      (run) => run.runnerId === session.id && !session.runs.has(run.id),
    );
    // A run the leader counted on this runner elsewhere moves to the session in one step (`resume` swaps it
    // after its reads): untracked across an await, its keys would look free to a dispatch meanwhile.
    for (const run of runs) await this.rescuer.resume(run, session, this.tracker.get(run.id));
    this.remotes.drop(session.id);
  }

  // ---- the runner protocol ----

  /**
   * A runner said hello (the registry decides whether it may have its name).
   * Runs it reports (running, or ended but not acknowledged) and still owns
   * are kept; runs it reports but does not own are canceled or acknowledged;
   * runs it owns but did not report are lost.
   */
  async hello(hello: Hello, channel: RunnerChannel): Promise<RunnerSession> {
    const session = await this.registry.admit(hello, channel);
    try {
      return await this.recordHello(hello, session, channel);
    } catch (error) {
      // Recording the hello failed (the store is away): the stream fails with the error and the name is let go with
      // it, or a new process taking the name would be refused by this dead stream until its lease ran out.
      this.registry.disconnected(session, channel);
      throw error;
    }
  }

  private async recordHello(hello: Hello, session: RunnerSession, channel: RunnerChannel): Promise<RunnerSession> {
    // Runs it owns and did not report, as of this hello: a run assigned from here on is one it will hear of.
    const reported = new Set([...hello.activeRunIds, ...hello.finishedRunIds]);
    let forgotten = [...session.runs].filter((runId) => !reported.has(runId));
    // Its record is committed before the welcome, as every other answer follows its commit: a welcomed
    // runner is listed (ListRunners), and a stream that ends once welcomed finds the hello done. With
    // several servers this takes its name in the database.
    await this.registry.claim(session);
    if (this.shared) {
      // The record says it is here now (no other server loses its runs): the runs it owns come along.
      await this.adoptStoredRuns(session);
      forgotten = [...session.runs].filter((runId) => !reported.has(runId));
    }
    // Welcome first: everything else the runner hears on this stream comes after it. Until it is sent the
    // session takes no work (dispatch commits with that record, and its assigns would go out first).
    channel.send({ message: { $case: "welcome", value: { runnerId: session.id, ...this.welcome } } });
    this.registry.welcomed(session);
    this.deps.log(`runner ${session.name} connected`, undefined, { runner: session.name, runner_id: session.id });
    for (const runId of hello.activeRunIds) {
      const run = session.runs.has(runId) ? this.tracker.get(runId) : undefined;
      // A run it still runs has started, whether or not that report was written before a restart.
      if (run) this.tracker.start(run);
      else this.tracker.cancelRun(session, runId, "the supervisor no longer assigns this run to you");
    }
    // Ended runs it no longer owns: their end is recorded already (or they were lost); it may forget them.
    for (const runId of hello.finishedRunIds) if (!session.runs.has(runId)) session.ack(runId, 0, true);
    await this.rescuer.forgotten(session, forgotten.map((runId) => this.tracker.get(runId)!).filter(Boolean));
    // Cancels requested while it was away.
    for (const runId of session.runs) {
      const run = this.tracker.get(runId);
      const stored = run && (await this.deps.backend.getTask(run.taskId));
      if (stored?.task.status?.cancelRequested) this.tracker.sendCancel(stored.task);
    }
    // Assigns another server made while the hello was being recorded.
    for (const message of session.afterWelcome.splice(0)) session.send(message);
    this.dispatcher.schedule();
    return session;
  }

  /** Any message renews the lease; messages about runs the runner does not own are ignored (fencing). */
  onMessage(session: RunnerSession, request: ConnectRequest): void {
    this.registry.heard(session);
    const message = request.message;
    if (!message) return;
    switch (message.$case) {
      case "heartbeat":
      case "hello":
      // The transport hands each item of a batch over on its own (services/runner-service.ts).
      case "batch":
        return;
      case "runStarted": {
        const { runId, logUrl } = message.value;
        const run = this.tracker.owned(session, runId);
        if (run) this.tracker.start(run, acceptedLogUrl(logUrl, runId, this.deps.log));
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
        const run = this.tracker.owned(session, runId);
        if (run) this.recorder.record(run, stream, data, seq, offset);
        return;
      }
      case "runFinished": {
        const { runId, exitCode, outcome, error, result, outputBytes, logUrl, failedInitStep } = message.value;
        const { retryAfter, retryAfterKey } = message.value;
        const run = this.tracker.owned(session, runId);
        if (!run) {
          // Not (or no longer) ours: its end is recorded or it was lost; the runner may forget it.
          session.ack(runId, 0, true);
          return;
        }
        // A result the store could not serve back readably fails the run instead of poisoning every read of it.
        const resultProblem = result === undefined ? undefined : jsonLimitProblem(result);
        const phase = resultProblem ? RunPhase.RUN_PHASE_FAILED : (OUTCOME_PHASE[outcome] ?? RunPhase.RUN_PHASE_FAILED);
        const why = resultProblem
          ? `result refused: ${resultProblem}`
          : error || (OUTCOME_PHASE[outcome] ? "" : `unknown outcome ${outcome}`);
        void this.tracker.finish(run, {
          phase,
          exitCode,
          error: clipText(why, MAX_ERROR_TEXT),
          result: resultProblem ? undefined : result,
          outputBytes,
          logUrl: acceptedLogUrl(logUrl, runId, this.deps.log),
          // A step that "failed" in a run that succeeded is no failure: only an unsuccessful end names one.
          failedInitStep:
            phase === RunPhase.RUN_PHASE_SUCCEEDED ? undefined : acceptedInitStep(failedInitStep, runId, this.deps.log),
          // The downstream asked to wait: the attempt is deferred, not failed (the key is checked against the task's).
          retryAfterMs: acceptedRetryAfter(
            retryAfter,
            outcome === RunOutcome.RUN_OUTCOME_FAILED && phase === RunPhase.RUN_PHASE_FAILED,
            runId,
            this.deps.log,
          ),
          retryAfterKey: retryAfterKey || undefined,
        });
        return;
      }
    }
  }

  /** The stream ended: the runner keeps its runs until its lease runs out. */
  disconnected(session: RunnerSession, channel: RunnerChannel): void {
    this.registry.disconnected(session, channel);
  }

  /** DrainRunner: no new assignments; running work finishes. */
  drain(runnerId: string): Promise<Runner> {
    return this.registry.setDraining(runnerId, true);
  }

  /** UndrainRunner: the runner takes work again. */
  undrain(runnerId: string): Promise<Runner> {
    return this.registry.setDraining(runnerId, false);
  }

  /** DeleteRunner: forgets a disconnected runner's record; the tasks pinned to it end (it is gone for good). */
  async forget(runnerId: string): Promise<Runner> {
    const forgotten = await this.registry.forget(runnerId);
    // On the leader at once; another server's leader sees the record gone at its next reconcile.
    if (this.duties.leading) {
      await this.endPinnedToDeleted().catch((error) => this.deps.log("ending tasks pinned to a deleted runner", error));
    }
    return forgotten;
  }

  /**
   * Pending tasks pinned to a runner whose record is gone (DeleteRunner) can never run: they end
   * (decide/pinned.ts). Checked on the leader for the runners some task is pinned to that are neither
   * connected here nor known on another server, one read each.
   */
  private async endPinnedToDeleted(): Promise<void> {
    const index = this.dispatcher.index;
    for (const runnerId of index.pinnedRunnerIds()) {
      if (this.registry.get(runnerId) || this.remotes.get(runnerId)) continue;
      if (await this.deps.backend.getRunner(runnerId)) continue;
      const writes = index
        .pinnedTasks(runnerId)
        .map((taskId) => this.leaderWrites.run(pinnedRunnerGoneWrite(taskId, runnerId)));
      await Promise.all(writes);
    }
  }

  /** Live view of a runner (connected or within its lease), if the engine has it. */
  liveRunner(runnerId: string): Runner | undefined {
    return this.registry.get(runnerId)?.toRunner();
  }

  /** In-memory output figures of an active run (the stored Run is updated when it ends). */
  liveOutput(runId: string): { bytes: number; truncated: boolean } | undefined {
    return this.tracker.liveOutput(runId);
  }

  get welcome() {
    return {
      heartbeatInterval: msToDuration(this.settings.heartbeatIntervalMs),
      leaseTtl: msToDuration(this.settings.leaseTtlMs),
      outputCapBytes: this.settings.outputCapBytes,
      // Runners may put several reports in one message (ConnectRequest.batch).
      acceptsBatches: true,
    };
  }
}
