import { TaskPhase } from "@supervisor/sdk";
import type { TaskStore } from "./task-store.js";

/**
 * Rewrites why a pending task waits (reason and message), if it still waits
 * for a runner: a task that was dispatched, ended or queued meanwhile is left
 * alone. Must run inside a transaction.
 */
export function setWaitingReason(store: TaskStore, taskId: string, reason: string, message: string): boolean {
  const row = store.getRow(taskId);
  if (!row || row.phase !== TaskPhase.TASK_PHASE_PENDING || store.slotStateOf(row) === "queued") return false;
  const task = store.get(taskId)!;
  if (task.status!.reason === reason && task.status!.message === message) return false;
  const status = { ...task.status!, reason, message };
  store.update({ ...task, status, updateTime: new Date(store.clock.now()) }, task, store.slotStateOf(row));
  return true;
}
