import { type ConnectResponse, RunPhase, type Task, TaskPhase } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { concurrencyKeysOf } from "../core/concurrency.js";
import { durationToMs } from "../core/task-spec.js";
import type { Logger } from "../errors.js";
import { observeAssignSent } from "../metrics/dispatch-timing.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { StorageBackend } from "../store/backend.js";
import { assignMessage } from "./dispatcher.js";
import type { RunTracker } from "./run-tracker.js";
import type { RunnerRegistry } from "./runner-registry.js";
import type { RunnerSession } from "./runner-session.js";

/**
 * Several servers: the leader commits assigns for runners whose streams are on other servers, and the
 * server holding the stream sends them. It learns of them from the journal (every server follows every
 * commit): a task gone RUNNING on a runner connected here, with no run of it tracked here, is read,
 * tracked and sent — and from then on served here like a run assigned here (reports, deadline, cancel).
 */
export class RunDelivery {
  /** Tasks whose run is being read. */
  private readonly reading = new Set<string>();

  constructor(
    private readonly backend: StorageBackend,
    private readonly registry: RunnerRegistry,
    private readonly tracker: RunTracker,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics?: ServerMetrics,
  ) {}

  /** A committed change (of any server): an assign to a runner connected here that this server did not make. */
  follow(task: Task): void {
    const status = task.status!;
    if (status.phase !== TaskPhase.TASK_PHASE_RUNNING || this.reading.has(task.id)) return;
    const session = this.registry.get(status.runnerId);
    if (!session) return;
    const tracked = this.tracker.runOfTask(task.id);
    if (tracked && session.runs.has(tracked.runId)) return; // assigned here, or delivered already
    this.reading.add(task.id);
    this.deliver(task, session)
      .catch((error) =>
        this.log(`delivering the assign of task ${task.id} to runner ${session.name} failed`, error, {
          task_id: task.id,
          runner: session.name,
        }),
      )
      .finally(() => this.reading.delete(task.id));
  }

  private async deliver(task: Task, session: RunnerSession): Promise<void> {
    const run = await this.backend.getRunByAttempt(task.id, task.status!.attempt);
    const active = run?.phase === RunPhase.RUN_PHASE_ASSIGNED || run?.phase === RunPhase.RUN_PHASE_RUNNING;
    if (!run || !active || run.runnerId !== session.id || session.runs.has(run.id)) return;
    // Gone meanwhile (expired, or moved to another server): whoever serves it now has the run.
    if (this.registry.get(session.id) !== session) return;
    // Counted on the runner by a leader that took over before this delivery: the session takes the count.
    const counted = this.tracker.get(run.id);
    if (counted) this.tracker.untrack(counted);
    const tracked = this.tracker.newRun(run.id, task.id, session.id, task.spec!.slot, concurrencyKeysOf(task.spec));
    this.tracker.track(tracked, session);
    const assignedAtMs = run.assignTime?.getTime() ?? this.clock.now();
    this.tracker.armBackstop(tracked, durationToMs(task.spec!.timeout!), assignedAtMs);
    sendOnceWelcomed(session, assignMessage(run, task, this.clock.now()));
    observeAssignSent(this.metrics, task, run, this.clock.now());
    if (task.status!.cancelRequested) this.tracker.sendCancel(task);
  }
}

/**
 * Sends now, or — while the runner's hello is still being recorded (the leader may assign as soon as the
 * record is committed, before the welcome is out) — right after its welcome.
 */
function sendOnceWelcomed(session: RunnerSession, message: ConnectResponse): void {
  if (session.welcomed) session.send(message);
  else session.afterWelcome.push(message);
}
