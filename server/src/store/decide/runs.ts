import { type Run, RunPhase, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { type AttemptEnd, type AttemptOptions, afterAttempt } from "../../core/attempt-outcome.js";
import { isTerminal } from "../../core/task-lifecycle.js";
import type { OutputChunkRecord } from "../backend.js";
import { promoteNext } from "./slots.js";
import type { WriteView } from "./view.js";

/** The runner a run is assigned to. */
export interface Assignee {
  id: string;
  name: string;
  /** Its process (hello.instance_id). */
  instanceId: string;
}

/**
 * Creates the next attempt's run on `runner` and marks the task RUNNING. The
 * assign message goes out only after the commit. Runs older than the newest
 * `historyLimit` are deleted with their output (the status counts them), so a
 * service restarted forever keeps a bounded history. Undefined when the task
 * changed since it was picked (no longer pending).
 */
export function decideAssign(
  view: WriteView,
  taskId: string,
  runId: string,
  runner: Assignee,
  historyLimit: number,
  nowMs: number,
): { task: Task; run: Run } | undefined {
  const stored = view.task(taskId);
  if (!stored || stored.task.status!.phase !== TaskPhase.TASK_PHASE_PENDING || stored.slotState === "queued") {
    return undefined;
  }
  const task = stored.task;
  const now = new Date(nowMs);
  const attempt = task.status!.attempt + 1;
  const run: Run = {
    id: runId,
    taskId,
    attempt,
    runnerId: runner.id,
    runnerName: runner.name,
    runnerInstanceId: runner.instanceId,
    phase: RunPhase.RUN_PHASE_ASSIGNED,
    error: "",
    outputBytes: 0,
    outputTruncated: false,
    assignTime: now,
    logUrl: "",
    failedInitStep: 0,
  };
  // Attempts 1..n each have a run until pruned: keeping the newest historyLimit means deleting through this one.
  const prunedThrough = attempt - historyLimit;
  const prunedRuns = Math.max(task.status!.prunedRuns, prunedThrough);
  if (prunedRuns > task.status!.prunedRuns) view.pruneRuns(taskId, prunedThrough);
  view.putRun(run);
  const running: Task = {
    ...task,
    status: {
      ...task.status!,
      phase: TaskPhase.TASK_PHASE_RUNNING,
      attempt,
      runnerId: runner.id,
      reason: TaskReason.ASSIGNED,
      message: `attempt ${attempt} assigned to runner ${runner.name}`,
      startTime: task.status!.startTime ?? now,
      nextAttemptTime: undefined,
      prunedRuns,
    },
    updateTime: now,
  };
  return { task: view.updateTask(running, task, stored.slotState), run };
}

/** The runner reported the run started (at `startedAtMs`): ASSIGNED → RUNNING (the task's reason says so). */
export function decideStart(
  view: WriteView,
  runId: string,
  taskId: string,
  startedAtMs: number,
  nowMs: number,
  logUrl?: string,
): Run | undefined {
  const stored = view.run(runId);
  if (!stored || stored.phase !== RunPhase.RUN_PHASE_ASSIGNED) return undefined;
  const now = new Date(nowMs);
  const run: Run = {
    ...stored,
    phase: RunPhase.RUN_PHASE_RUNNING,
    startTime: new Date(startedAtMs),
    logUrl: logUrl ?? stored.logUrl,
  };
  view.putRun(run);
  const taskRecord = view.task(taskId);
  if (taskRecord && taskRecord.task.status!.phase === TaskPhase.TASK_PHASE_RUNNING) {
    const task = taskRecord.task;
    // A requested cancel keeps its reason; otherwise say the attempt is under way.
    const status = task.status!.cancelRequested
      ? task.status!
      : { ...task.status!, reason: TaskReason.STARTED, message: `attempt ${run.attempt} running on ${run.runnerName}` };
    view.updateTask({ ...task, status, updateTime: now }, task, taskRecord.slotState);
  }
  return run;
}

export interface FinishedRun {
  run: Run;
  task?: Task;
  /** Set when the task will be retried: the backoff chosen. */
  delayMs?: number;
}

/** The output figures of a run as it ends. */
export interface RunOutputFigures {
  /** Bytes the run produced (kept or dropped). */
  bytes: number;
  /** Whether any of them were not kept. */
  truncated: boolean;
}

/** How a run ended, as the runner (or the supervisor) reported it. */
export type RunEnd = AttemptEnd & {
  result?: Record<string, unknown>;
  /** When the runner reported the start, if that report was not written on its own (it is written with the end). */
  startedAtMs?: number;
  /** Run.log_url as the runner last reported it (validated); undefined keeps the stored one. */
  logUrl?: string;
};

/**
 * Ends a run (SUCCEEDED, FAILED, TIMEOUT, CANCELED or LOST) and moves its task
 * on: retried after a backoff, or terminal — then its slot passes to the next
 * queued task. Idempotent: a run already ended is left alone.
 */
export function decideFinish(
  view: WriteView,
  runId: string,
  taskId: string,
  end: RunEnd,
  output: RunOutputFigures,
  options: AttemptOptions,
  nowMs: number,
): FinishedRun | undefined {
  const stored = view.run(runId);
  if (!stored || (stored.phase !== RunPhase.RUN_PHASE_ASSIGNED && stored.phase !== RunPhase.RUN_PHASE_RUNNING)) {
    return undefined;
  }
  const run: Run = {
    ...stored,
    startTime: stored.startTime ?? (end.startedAtMs === undefined ? undefined : new Date(end.startedAtMs)),
    phase: end.phase,
    exitCode: end.exitCode,
    error: end.error ?? "",
    finishTime: new Date(nowMs),
    outputBytes: output.bytes,
    outputTruncated: output.truncated,
    result: end.result,
    logUrl: end.logUrl ?? stored.logUrl,
    failedInitStep: end.failedInitStep ?? 0,
  };
  view.putRun(run);
  const taskRecord = view.task(taskId);
  if (!taskRecord || taskRecord.task.status!.phase !== TaskPhase.TASK_PHASE_RUNNING) return { run };
  const task = taskRecord.task;
  const next = afterAttempt(task, end, nowMs, options);
  const terminal = isTerminal(next.task.status!.phase);
  const updated = view.updateTask(next.task, task, terminal ? "none" : taskRecord.slotState);
  if (terminal && taskRecord.slotState === "owner" && task.spec!.slot) promoteNext(view, task.spec!.slot, nowMs);
  return { run, task: updated, delayMs: next.delayMs };
}

/** Stores a chunk of output and deletes the chunks the cap pushed out. */
export function decideOutput(
  view: WriteView,
  chunk: OutputChunkRecord | undefined,
  runId: string,
  dropSeqs: readonly number[],
): void {
  if (chunk) view.addOutputChunk(chunk);
  for (const seq of dropSeqs) view.deleteOutputChunk(runId, seq);
}

/**
 * Rewrites why a pending task waits (reason and message), if it still waits
 * for a runner: a task dispatched, ended or queued meanwhile is left alone.
 */
export function decideWaitingReason(
  view: WriteView,
  taskId: string,
  reason: string,
  message: string,
  nowMs: number,
): boolean {
  const stored = view.task(taskId);
  if (!stored || stored.task.status!.phase !== TaskPhase.TASK_PHASE_PENDING || stored.slotState === "queued")
    return false;
  const task = stored.task;
  if (task.status!.reason === reason && task.status!.message === message) return false;
  view.updateTask(
    { ...task, status: { ...task.status!, reason, message }, updateTime: new Date(nowMs) },
    task,
    stored.slotState,
  );
  return true;
}
