import {
  type RunnerInfo as Runner,
  RunPhase,
  runPhaseToJSON,
  type Task,
  type Timer,
  type Timers,
} from "@supervisor/sdk";
import type { AttemptEnd } from "../core/attempt-outcome.js";
import type { Clock } from "../core/clock.js";
import { msToDuration } from "../core/task-spec.js";
import type { Logger } from "../errors.js";
import { OutputCap } from "../store/output-cap.js";
import { finishWrite, startWrite, unlessClaimed } from "../store/writes.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import type { OutputHub } from "./output-hub.js";
import type { RunnerSession } from "./runner-session.js";
import type { RunnerTarget } from "./runner-target.js";

/** A run the engine is tracking until its end is committed. */
export interface ActiveRun {
  runId: string;
  taskId: string;
  runnerId: string;
  slot: string;
  /** The task's concurrency keys (TaskSpec.concurrency, templated): the run counts against each. */
  keys: readonly string[];
  cap: OutputCap;
  lastSeq: number;
  backstop?: Timer;
  /** The run's reports, committed one after another in the order they arrived. */
  reports: Promise<void>;
  /** Chunks accepted but not yet committed, by seq: one the cap pushes out before its commit is never written. */
  unstored: Map<number, { cancelled: boolean }>;
  /** Set once the run's end is decided: the first end wins; later reports are ignored. */
  ending?: Promise<void>;
  /** Reserved by dispatch, its commit not known yet: what the journal says of its task is older. */
  assigning?: boolean;
  /** When the runner reported the start; while `startWrite` is set, that report is not written yet. */
  startedAtMs?: number;
  startWrite?: Timer;
  /** Run.log_url as the runner reported it with the start (validated), written with the start or the end. */
  logUrl?: string;
}

export interface RunTrackerSettings {
  cancelGracePeriodMs: number;
  outputCapBytes: number;
  minRestartDelayMs: number;
}

export interface RunTrackerDeps {
  retry: CommitRetry;
  clock: Clock;
  timers: Timers;
  log: Logger;
  random: () => number;
  outputs: OutputHub;
  /** The live session of a runner, if any. */
  session(runnerId: string): RunnerSession | undefined;
  /** The runner a run is tracked on: its session here, or (on the leader) a runner on another server. */
  owner(runnerId: string): RunnerTarget | undefined;
  /** A run ended and was untracked: its runner has room, its slot may be free. */
  runEnded(run: ActiveRun, owner: RunnerTarget | undefined): void;
  /** A run's deadline passed by the slack and the runner never reported its end. */
  late(run: ActiveRun): void;
}

/** How long past a run's deadline (plus the kill grace) the supervisor waits for the runner before ending it itself. */
const DEADLINE_SLACK_MS = 5_000;

/**
 * How long a reported start waits before it is written on its own. A run that
 * ends sooner has its start written with its end: one write instead of two
 * for every short run (an embedded handler reports both within a millisecond).
 */
export const START_WRITE_DELAY_MS = 50;

/**
 * The runs the engine tracks from assign until their end is committed: who
 * owns each, which slots are busy, their deadline backstops, and their
 * reports — committed one after another per run, retried until they commit.
 * The first end decided wins.
 */
export class RunTracker {
  readonly active = new Map<string, ActiveRun>();
  private readonly byTask = new Map<string, string>();
  private readonly busy = new Map<string, number>();
  /** Active runs per concurrency key (only keys some run holds: a task without keys costs nothing). */
  private readonly holding = new Map<string, number>();
  private readonly cancelsSent = new Set<string>();

  constructor(
    private readonly deps: RunTrackerDeps,
    private readonly settings: RunTrackerSettings,
  ) {}

  newRun(runId: string, taskId: string, runnerId: string, slot: string, keys: readonly string[] = []): ActiveRun {
    return {
      runId,
      taskId,
      runnerId,
      slot,
      keys,
      cap: new OutputCap(this.settings.outputCapBytes),
      lastSeq: 0,
      reports: Promise.resolve(),
      unstored: new Map(),
    };
  }

  track(run: ActiveRun, owner: RunnerTarget): void {
    this.active.set(run.runId, run);
    this.byTask.set(run.taskId, run.runId);
    owner.runs.add(run.runId);
    if (run.slot) this.busy.set(run.slot, (this.busy.get(run.slot) ?? 0) + 1);
    for (const key of run.keys) this.holding.set(key, (this.holding.get(key) ?? 0) + 1);
  }

  /** Forgets a run; returns whether its slot became free. */
  untrack(run: ActiveRun): void {
    if (!this.active.delete(run.runId)) return;
    run.backstop?.cancel();
    run.startWrite?.cancel();
    if (this.byTask.get(run.taskId) === run.runId) this.byTask.delete(run.taskId);
    this.cancelsSent.delete(run.runId);
    const owner = this.deps.owner(run.runnerId);
    owner?.runs.delete(run.runId);
    if (run.slot) {
      const left = (this.busy.get(run.slot) ?? 1) - 1;
      if (left > 0) this.busy.set(run.slot, left);
      else this.busy.delete(run.slot);
    }
    for (const key of run.keys) {
      const left = (this.holding.get(key) ?? 1) - 1;
      if (left > 0) this.holding.set(key, left);
      else this.holding.delete(key);
    }
    this.deps.runEnded(run, owner);
  }

  /** Whether a (replaced) owner of the slot still runs. */
  slotBusy(slot: string): boolean {
    return (this.busy.get(slot) ?? 0) > 0;
  }

  /** How many tracked runs (assigned or running) hold the concurrency key. */
  holdingKey(key: string): number {
    return this.holding.get(key) ?? 0;
  }

  get(runId: string): ActiveRun | undefined {
    return this.active.get(runId);
  }

  /** The run `session` owns with this id (fencing: anyone else's report is ignored). */
  owned(session: RunnerSession, runId: string): ActiveRun | undefined {
    return session.runs.has(runId) ? this.active.get(runId) : undefined;
  }

  runOfTask(taskId: string): ActiveRun | undefined {
    const runId = this.byTask.get(taskId);
    return runId ? this.active.get(runId) : undefined;
  }

  /** If the runner never reports the end, the supervisor ends the run itself after the deadline and the kill grace. */
  armBackstop(run: ActiveRun, timeoutMs: number, assignedAtMs: number): void {
    const dueMs = assignedAtMs + timeoutMs + this.settings.cancelGracePeriodMs + DEADLINE_SLACK_MS;
    run.backstop = this.deps.timers.after(dueMs - this.deps.clock.now(), () => {
      if (!run.ending) this.deps.late(run);
    });
  }

  /** Runs `work` after every earlier report of the run: one run's reports commit in arrival order. */
  enqueue(run: ActiveRun, work: () => Promise<void>): Promise<void> {
    const next = run.reports.then(work).catch((error: unknown) => {
      if (!this.deps.retry.signal.aborted) {
        this.deps.log(`recording a report of run ${run.runId} failed`, error, this.fields(run));
      }
    });
    run.reports = next;
    return next;
  }

  /**
   * The runner reports the start: written after START_WRITE_DELAY_MS, or with the end if that comes first.
   * A log URL reported with a start already heard (sent again after a reconnect) goes with the end.
   */
  start(run: ActiveRun, logUrl?: string): void {
    if (run.ending) return;
    if (logUrl) run.logUrl = logUrl;
    if (run.startedAtMs !== undefined) return;
    const startedAtMs = this.deps.clock.now();
    run.startedAtMs = startedAtMs;
    this.deps.log(`run ${run.runId} of task ${run.taskId} started`, undefined, { level: "debug", ...this.fields(run) });
    run.startWrite = this.deps.timers.after(START_WRITE_DELAY_MS, () => {
      run.startWrite = undefined;
      if (run.ending) return;
      this.enqueue(run, async () => {
        const started = await commitUntilDone(
          this.deps.retry,
          `recording the start of run ${run.runId}`,
          startWrite(run.runId, run.taskId, startedAtMs, run.logUrl),
        );
        if (started) this.deps.outputs.publish(run.taskId, { kind: "started", run: started });
      });
    });
  }

  /**
   * Ends a run once: the first end decided wins and later reports about it are
   * ignored. The end is committed after the run's earlier reports, retried
   * until it commits; only then is the runner's capacity freed and the runner
   * told it may forget the run. With `seen` (several servers), nothing is written if the runner connected
   * to another server since that record: the run is that server's now.
   */
  finish(
    run: ActiveRun,
    end: AttemptEnd & {
      result?: Record<string, unknown>;
      outputBytes?: number;
      logUrl?: string;
      retryAfterKey?: string;
    },
    seen?: Runner,
  ): Promise<void> {
    if (run.ending) return run.ending;
    run.backstop?.cancel();
    // A start not written yet is written with the end.
    const unwrittenStart = run.startWrite ? run.startedAtMs : undefined;
    run.startWrite?.cancel();
    run.startWrite = undefined;
    run.ending = this.enqueue(run, async () => {
      const bytes = Math.max(run.cap.accounted, end.outputBytes ?? 0);
      const output = { bytes, truncated: bytes > run.cap.storedBytes };
      const options = { random: this.deps.random, minDelayMs: this.settings.minRestartDelayMs };
      const logUrl = end.logUrl ?? run.logUrl;
      const write = finishWrite(run, { ...end, startedAtMs: unwrittenStart, logUrl }, output, options);
      const finished = await commitUntilDone(
        this.deps.retry,
        `recording the end of run ${run.runId}`,
        seen ? unlessClaimed(write, seen) : write,
      );
      this.untrack(run);
      const phase = runPhaseToJSON(end.phase).replace("RUN_PHASE_", "");
      const lost = end.phase === RunPhase.RUN_PHASE_LOST;
      if (finished?.droppedRetryAfterKey) this.deps.log(`run ${run.runId}: ${finished.droppedRetryAfterKey}`);
      const ended = lost ? "lost" : finished?.run.retryAfter ? "deferred" : "finished";
      this.deps.log(`run ${run.runId} of task ${run.taskId} ${ended}: ${phase}`, undefined, {
        level: lost ? "warn" : "debug",
        ...this.fields(run),
        phase,
        ...(end.error ? { run_error: end.error } : {}),
      });
      if (finished && unwrittenStart !== undefined) {
        // Followers waiting for the attempt to start hear it, then its end.
        this.deps.outputs.publish(run.taskId, { kind: "started", run: finished.run });
      }
      if (finished) this.deps.outputs.publish(run.taskId, { kind: "finished", run: finished.run });
      this.deps.session(run.runnerId)?.ack(run.runId, run.lastSeq, true);
    });
    return run.ending;
  }

  /** The stable log fields of a run (docs/logging.md); the runner by name when it is connected here. */
  private fields(run: ActiveRun) {
    return { task_id: run.taskId, run_id: run.runId, runner: this.deps.session(run.runnerId)?.name ?? run.runnerId };
  }

  /** A lost run: its runner went away or came back without it. */
  lose(run: ActiveRun, why: string, seen?: Runner): Promise<void> {
    return this.finish(run, { phase: RunPhase.RUN_PHASE_LOST, error: why }, seen);
  }

  /** Sends a task's requested cancel to the runner of its run (once). */
  sendCancel(task: Task): void {
    const run = this.runOfTask(task.id);
    if (!run || this.cancelsSent.has(run.runId)) return;
    const session = this.deps.session(run.runnerId);
    if (!session?.channel) return; // sent when the runner reconnects, or the run is lost with it
    this.cancelsSent.add(run.runId);
    this.cancelRun(session, run.runId, task.status!.message || "canceled");
  }

  cancelRun(session: RunnerSession | undefined, runId: string, reason: string): void {
    session?.send({
      message: {
        $case: "cancel",
        value: { runId, reason, gracePeriod: msToDuration(this.settings.cancelGracePeriodMs) },
      },
    });
  }

  /** In-memory output figures of an active run (the stored Run is updated when it ends). */
  liveOutput(runId: string): { bytes: number; truncated: boolean } | undefined {
    const run = this.active.get(runId);
    return run && { bytes: run.cap.accounted, truncated: run.cap.truncated };
  }

  stop(): void {
    for (const run of this.active.values()) {
      run.backstop?.cancel();
      run.startWrite?.cancel();
    }
  }
}
