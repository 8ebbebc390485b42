import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

/** Pending tasks free to run (not queued behind a slot owner), in dispatch order; for the start-up rebuild. */
export function listDispatchableTasks(db: Db): TaskRow[] {
  return statement(
    db,
    `SELECT * FROM tasks WHERE phase = 1 AND (slot_state IS NULL OR slot_state = 1)
     ORDER BY priority DESC, ready_time, id`,
  ).all() as TaskRow[];
}
