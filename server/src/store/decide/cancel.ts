import { type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { isTerminal } from "../../core/task-lifecycle.js";
import { taskNotFound, taskTerminal } from "../../errors.js";
import { promoteNext, stopTask } from "./slots.js";
import type { WriteView } from "./view.js";

/**
 * CancelTask: pending (or queued) → CANCELED now, and the slot passes on;
 * running → cancel requested (the engine tells the runner); already
 * CANCELED → as is; other terminal phases → TASK_TERMINAL.
 */
export function decideCancel(view: WriteView, id: string, message: string, nowMs: number): Task {
  const stored = view.task(id);
  if (!stored) throw taskNotFound(id);
  const { task, slotState } = stored;
  const phase = task.status!.phase;
  if (phase === TaskPhase.TASK_PHASE_CANCELED) return task;
  if (isTerminal(phase)) throw taskTerminal(id, phase);
  if (task.status!.cancelRequested) return task;
  // A running owner keeps its slot until its run ends, so nothing else starts beside it.
  const slotAfter = phase === TaskPhase.TASK_PHASE_RUNNING && slotState === "owner" ? "owner" : "none";
  const stopped = stopTask(
    view,
    task,
    TaskReason.CANCELED_BY_CLIENT,
    message || "canceled by client",
    slotAfter,
    nowMs,
  );
  if (slotState === "owner" && slotAfter === "none" && task.spec!.slot) promoteNext(view, task.spec!.slot, nowMs);
  return stopped;
}

/** A fan-out parent was canceled: its active child stops too (PARENT_CANCELED). Undefined when it ended already. */
export function decideCancelChild(view: WriteView, id: string, nowMs: number): Task | undefined {
  const stored = view.task(id);
  if (!stored || isTerminal(stored.task.status!.phase) || stored.task.status!.cancelRequested) return undefined;
  return stopTask(view, stored.task, TaskReason.PARENT_CANCELED, "its fan-out parent was canceled", "none", nowMs);
}
