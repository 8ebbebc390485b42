import type { Task } from "@supervisor/sdk";
import { isTerminal } from "../../core/task-lifecycle.js";
import type { WriteView } from "./view.js";

/** Deletes terminal tasks that finished before the cutoff (DELETED each), with their runs and output. */
export function decideExpire(view: WriteView, candidates: readonly Task[], cutoffMs: number): number {
  let deleted = 0;
  for (const candidate of candidates) {
    const stored = view.task(candidate.id);
    if (!stored || !isTerminal(stored.task.status!.phase)) continue;
    const finishedMs = stored.task.status!.finishTime?.getTime() ?? stored.task.updateTime?.getTime() ?? 0;
    if (finishedMs >= cutoffMs) continue;
    view.deleteTask(stored.task);
    deleted++;
  }
  return deleted;
}
