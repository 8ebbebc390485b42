import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

/** Terminal tasks that finished before the cutoff, oldest first. */
export function findExpiredTasks(db: Db, cutoffMs: number, limit: number): TaskRow[] {
  return statement(
    db,
    "SELECT * FROM tasks WHERE finish_time IS NOT NULL AND finish_time < ? ORDER BY finish_time LIMIT ?",
  ).all(cutoffMs, limit) as TaskRow[];
}
