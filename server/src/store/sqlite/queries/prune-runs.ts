import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Deletes a task's runs up to `throughAttempt` (their output goes with them). Returns how many went. */
export function pruneRuns(db: Db, taskId: string, throughAttempt: number): number {
  return statement(db, "DELETE FROM runs WHERE task_id = ? AND attempt <= ?").run(taskId, throughAttempt).changes;
}
