import { type Run, RunPhase, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { type AttemptEnd, type AttemptOptions, afterAttempt } from "../core/attempt-outcome.js";
import { isTerminal } from "../core/task-lifecycle.js";
import { getRun } from "../db/queries/get-run.js";
import { pruneRuns } from "../db/queries/prune-runs.js";
import { decodeRun, toRunRow } from "../db/queries/run-row.js";
import { upsertRun } from "../db/queries/upsert-run.js";
import { promoteNext } from "./slots.js";
import type { TaskStore } from "./task-store.js";

/** The runner a run is assigned to. */
export interface Assignee {
  id: string;
  name: string;
}

/**
 * Creates the next attempt's run on `runner` and marks the task RUNNING, in
 * one transaction. The assign message goes out only after the commit. Runs
 * older than the newest `historyLimit` are deleted with their output (the
 * task's status counts them), so a service restarted forever keeps a bounded
 * history.
 */
export function assignRun(
  store: TaskStore,
  taskId: string,
  runId: string,
  runner: Assignee,
  historyLimit: number,
): { task: Task; run: Run } | undefined {
  const row = store.getRow(taskId);
  if (!row || row.phase !== TaskPhase.TASK_PHASE_PENDING) return undefined; // changed since it was picked
  const task = store.get(taskId)!;
  const now = new Date(store.clock.now());
  const attempt = task.status!.attempt + 1;
  const run: Run = {
    id: runId,
    taskId,
    attempt,
    runnerId: runner.id,
    runnerName: runner.name,
    phase: RunPhase.RUN_PHASE_ASSIGNED,
    error: "",
    outputBytes: 0,
    outputTruncated: false,
    assignTime: now,
  };
  const pruned = attempt > historyLimit ? pruneRuns(store.db, taskId, attempt - historyLimit) : 0;
  upsertRun(store.db, toRunRow(run));
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
      prunedRuns: task.status!.prunedRuns + pruned,
    },
    updateTime: now,
  };
  return { task: store.update(running, task, store.slotStateOf(row)), run };
}

/** The runner reports the run started: ASSIGNED → RUNNING. */
export function startRun(store: TaskStore, runId: string): Run | undefined {
  const row = getRun(store.db, runId);
  if (!row || row.phase !== RunPhase.RUN_PHASE_ASSIGNED) return undefined;
  const now = new Date(store.clock.now());
  const run: Run = { ...decodeRun(row.run), phase: RunPhase.RUN_PHASE_RUNNING, startTime: now };
  upsertRun(store.db, toRunRow(run));
  const taskRow = store.getRow(row.task_id);
  if (taskRow && taskRow.phase === TaskPhase.TASK_PHASE_RUNNING) {
    const task = store.get(row.task_id)!;
    // A requested cancel keeps its reason; otherwise say the attempt is under way.
    const status = task.status!.cancelRequested
      ? task.status!
      : { ...task.status!, reason: TaskReason.STARTED, message: `attempt ${run.attempt} running on ${run.runnerName}` };
    store.update({ ...task, status, updateTime: now }, task, store.slotStateOf(taskRow));
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

/**
 * Ends a run (SUCCEEDED, FAILED, TIMEOUT, CANCELED or LOST) and moves its task
 * on: retried after a backoff, or terminal — then its slot passes to the next
 * queued task. Idempotent: a run already ended is left alone.
 */
export function finishRun(
  store: TaskStore,
  runId: string,
  end: AttemptEnd & { result?: Record<string, unknown> },
  output: RunOutputFigures,
  options: AttemptOptions,
): FinishedRun | undefined {
  const row = getRun(store.db, runId);
  if (!row || (row.phase !== RunPhase.RUN_PHASE_ASSIGNED && row.phase !== RunPhase.RUN_PHASE_RUNNING)) return undefined;
  const nowMs = store.clock.now();
  const run: Run = {
    ...decodeRun(row.run),
    phase: end.phase,
    exitCode: end.exitCode,
    error: end.error ?? "",
    finishTime: new Date(nowMs),
    outputBytes: output.bytes,
    outputTruncated: output.truncated,
    result: end.result,
  };
  upsertRun(store.db, toRunRow(run));
  const taskRow = store.getRow(row.task_id);
  if (!taskRow || taskRow.phase !== TaskPhase.TASK_PHASE_RUNNING) return { run };
  const task = store.get(row.task_id)!;
  const next = afterAttempt(task, end, nowMs, options);
  const slotState = store.slotStateOf(taskRow);
  const terminal = isTerminal(next.task.status!.phase);
  const stored = store.update(next.task, task, terminal ? "none" : slotState);
  if (terminal && slotState === "owner" && task.spec!.slot) promoteNext(store, task.spec!.slot);
  return { run, task: stored, delayMs: next.delayMs };
}
