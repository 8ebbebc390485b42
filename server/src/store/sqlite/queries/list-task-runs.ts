import type { RunRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** A task's runs after `afterAttempt`, oldest first. */
export function listTaskRuns(db: Db, taskId: string, afterAttempt: number, limit: number): RunRow[] {
  return statement(db, "SELECT * FROM runs WHERE task_id = ? AND attempt > ? ORDER BY attempt LIMIT ?").all(
    taskId,
    afterAttempt,
    limit,
  ) as RunRow[];
}
