import type { RunRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** The run of `attempt` of a task; attempt 0 = the latest. */
export function getRunByAttempt(db: Db, taskId: string, attempt: number): RunRow | undefined {
  if (attempt === 0) {
    return statement(db, "SELECT * FROM runs WHERE task_id = ? ORDER BY attempt DESC LIMIT 1").get(taskId) as
      | RunRow
      | undefined;
  }
  return statement(db, "SELECT * FROM runs WHERE task_id = ? AND attempt = ?").get(taskId, attempt) as
    | RunRow
    | undefined;
}
