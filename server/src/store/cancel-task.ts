import { type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { isTerminal } from "../core/task-lifecycle.js";
import { taskNotFound } from "../errors.js";
import { taskTerminal } from "./admission-errors.js";
import { promoteNext, stopTask } from "./slots.js";
import type { TaskStore } from "./task-store.js";

/**
 * CancelTask: pending (or queued) → CANCELED now, and the slot passes on;
 * running → cancel requested and sent to the runner; already CANCELED → as is;
 * other terminal phases → TASK_TERMINAL. Must run inside a transaction.
 */
export function cancelTask(store: TaskStore, id: string, message: string): Task {
  const row = store.getRow(id);
  if (!row) throw taskNotFound(id);
  const task = store.get(id)!;
  const phase = task.status!.phase;
  if (phase === TaskPhase.TASK_PHASE_CANCELED) return task;
  if (isTerminal(phase)) throw taskTerminal(id, phase);
  if (task.status!.cancelRequested) return task;
  const slotState = store.slotStateOf(row);
  // A running owner keeps its slot until its run ends, so nothing else starts beside it.
  const slotAfter = phase === TaskPhase.TASK_PHASE_RUNNING && slotState === "owner" ? "owner" : "none";
  const stopped = stopTask(store, task, TaskReason.CANCELED_BY_CLIENT, message || "canceled by client", slotAfter);
  if (slotState === "owner" && slotAfter === "none" && task.spec!.slot) promoteNext(store, task.spec!.slot);
  return stopped;
}
