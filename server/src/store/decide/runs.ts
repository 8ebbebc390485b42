import { type Run, RunPhase, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { type AttemptEnd, type AttemptOptions, afterAttempt, isDeferred } from "../../core/attempt-outcome.js";
import { isTerminal } from "../../core/task-lifecycle.js";
import { msToDuration } from "../../core/task-spec.js";
import { retryAfterKeys } from "../../validation/run-report.js";
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
  /** A deferred run's end: the keys its retry-after paused, and until when. */
  paused?: { keys: string[]; untilMs: number };
  /** Why the run's retry_after_key was dropped (it is not one of the task's keys), for the log. */
  droppedRetryAfterKey?: string;
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
  /** With retryAfterMs: the one key of the task to pause (RunFinished.retry_after_key); unset = all of them. */
  retryAfterKey?: string;
};

/**
 * Ends a run (SUCCEEDED, FAILED, TIMEOUT, CANCELED or LOST) and moves its task
 * on: retried after a backoff, or terminal — then its slot passes to the next
 * queued task. Idempotent: a run already ended is left alone. A deferred run
 * (a retry-after) also pauses its task's keys, in the same commit, for every
 * task that holds them.
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
    retryAfter: isDeferred(end) ? msToDuration(end.retryAfterMs!) : undefined,
  };
  view.putRun(run);
  const taskRecord = view.task(taskId);
  // The downstream's word holds for the keys whatever becomes of this task (a cancel requested meanwhile too).
  const deferral = isDeferred(end) && taskRecord ? pauseKeys(view, taskRecord.task, run, end, nowMs) : {};
  if (!taskRecord || taskRecord.task.status!.phase !== TaskPhase.TASK_PHASE_RUNNING) return { run, ...deferral };
  const task = taskRecord.task;
  const next = afterAttempt(task, end, nowMs, options);
  const terminal = isTerminal(next.task.status!.phase);
  const updated = view.updateTask(next.task, task, terminal ? "none" : taskRecord.slotState);
  if (terminal && taskRecord.slotState === "owner" && task.spec!.slot) promoteNext(view, task.spec!.slot, nowMs);
  return { run, task: updated, delayMs: next.delayMs, ...deferral };
}

/** A retry-after's pause: the task's keys (or the one named) wait until now + N, for every task holding them. */
function pauseKeys(
  view: WriteView,
  task: Task,
  run: Run,
  end: RunEnd,
  nowMs: number,
): Pick<FinishedRun, "paused" | "droppedRetryAfterKey"> {
  const { keys, problem } = retryAfterKeys(task.spec, end.retryAfterKey);
  const untilMs = nowMs + end.retryAfterMs!;
  for (const key of keys) view.pauseKey(key, untilMs, run.id);
  return { paused: keys.length > 0 ? { keys, untilMs } : undefined, droppedRetryAfterKey: problem };
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
