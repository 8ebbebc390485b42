import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

const SQL = `UPDATE tasks
  SET slot_state = @slot_state, phase = @phase, runner_id = @runner_id, ready_time = @ready_time,
      finish_time = @finish_time, revision = @revision, task = @task
  WHERE id = @id`;

/** Rewrites a stored task; false when there is no row of that id. */
export function updateTask(db: Db, row: TaskRow): boolean {
  return statement(db, SQL).run(row).changes > 0;
}
