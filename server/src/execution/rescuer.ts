import { type Run, RunPhase } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { concurrencyKeysOf } from "../core/concurrency.js";
import { durationToMs } from "../core/task-spec.js";
import type { StorageBackend } from "../store/backend.js";
import { assignMessage, type Dispatcher } from "./dispatcher.js";
import type { ActiveRun, RunTracker } from "./run-tracker.js";
import type { RunnerRegistry } from "./runner-registry.js";
import type { RunnerSession } from "./runner-session.js";

/**
 * Runs nobody will report on: the runs of a runner whose lease ran out, runs a
 * reconnecting runner no longer has, runs past their deadline that their
 * runner never ended — and, at start-up, every run and pending task the store
 * holds, so the engine picks up where the last process stopped.
 */
export class Rescuer {
  constructor(
    private readonly backend: StorageBackend,
    private readonly registry: RunnerRegistry,
    private readonly tracker: RunTracker,
    private readonly dispatcher: Dispatcher,
    private readonly clock: Clock,
    /** Other servers share the database: a runner may have connected to one of them meanwhile. */
    private readonly shared = false,
  ) {}

  /** Rebuilds the engine's memory from the store. Runners of active runs get one lease to come back. */
  async restore(): Promise<void> {
    const nowMs = this.clock.now();
    for (const task of await this.backend.dispatchableTasks()) this.dispatcher.track(task, nowMs);
    for (const run of await this.backend.activeRuns()) {
      const session =
        this.registry.get(run.runnerId) ??
        this.registry.restore(run.runnerId, await this.backend.getRunner(run.runnerId), run.runnerName);
      await this.resume(run, session);
    }
  }

  /**
   * Tracks a stored active run on its runner's session: its output so far (for the cap), its deadline.
   * `counted`: the run as it is tracked now on another owner (the leader counted it on a remote runner).
   * Whatever counts it once the reads are done is replaced with no await between, so its keys and room are
   * never seen free, and its reports are never fenced off by a count that is not its session.
   */
  async resume(run: Run, session: RunnerSession, counted?: ActiveRun): Promise<void> {
    const nowMs = this.clock.now();
    const stored = await this.backend.getTask(run.taskId);
    const spec = stored?.task.spec;
    const active = this.tracker.newRun(run.id, run.taskId, run.runnerId, spec?.slot ?? "", concurrencyKeysOf(spec));
    const extents = await this.backend.outputExtents(run.id);
    // Tracked on its session meanwhile, or (counted before, untracked since) ended: nothing to resume.
    const tracked = this.tracker.get(run.id);
    if (session.runs.has(run.id) || (counted && !tracked)) return;
    // Counted elsewhere (before the reads, or by a leader's rebuild during them): the session takes it over.
    if (tracked) this.tracker.untrack(tracked);
    for (const { seq, offset, size } of extents) {
      active.cap.restore(seq, offset, size);
      active.lastSeq = seq;
    }
    this.tracker.track(active, session);
    this.dispatcher.index.roomChanged(session);
    if (stored) {
      const timeoutMs = durationToMs(stored.task.spec!.timeout!);
      this.tracker.armBackstop(active, timeoutMs, run.assignTime?.getTime() ?? nowMs);
    }
  }

  /** The lease ran out: every run of the runner is LOST (a failed attempt, retried by policy). */
  async expired(session: RunnerSession): Promise<void> {
    this.dispatcher.index.removeRunner(session.id);
    const runs = [...session.runs].map((runId) => this.tracker.get(runId)).filter((run) => run !== undefined);
    const seen = this.shared ? session.toRunner() : undefined;
    await Promise.all(runs.map((run) => this.tracker.lose(run, `runner ${session.name} went away`, seen)));
  }

  /**
   * Runs the runner owned but did not report when it reconnected. The same
   * runner process coming back without a run that never started never
   * received its assign (the supervisor stopped between the commit and the
   * send): it is sent again. Any other is lost — the runner restarted and may
   * have begun it.
   */
  async forgotten(session: RunnerSession, runs: readonly ActiveRun[]): Promise<void> {
    for (const run of runs) {
      const stored = await this.backend.getRun(run.runId);
      const undelivered =
        stored?.phase === RunPhase.RUN_PHASE_ASSIGNED &&
        stored.runnerInstanceId !== "" &&
        stored.runnerInstanceId === session.instanceId;
      const task = undelivered ? (await this.backend.getTask(run.taskId))?.task : undefined;
      if (stored && task && session.channel) session.send(assignMessage(stored, task, this.clock.now()));
      else void this.tracker.lose(run, "the runner reconnected without this run");
    }
  }

  /** The deadline, the kill grace and the slack have passed, and the runner never said the run ended. */
  late(run: ActiveRun): void {
    this.tracker.cancelRun(this.registry.get(run.runnerId), run.runId, "deadline exceeded");
    void this.tracker.finish(run, {
      phase: RunPhase.RUN_PHASE_TIMEOUT,
      error: "the runner did not report the end of the run by its deadline",
    });
  }
}
