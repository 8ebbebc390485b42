import { TaskPhase } from "@supervisor/sdk";
import { SLOT_OWNER } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

/** Pending tasks free to run (not queued behind a slot owner), in dispatch order; for the start-up rebuild. */
export function listDispatchableTasks(db: Db): TaskRow[] {
  return statement(
    db,
    // Literal values, not parameters: the query must match the partial index tasks_pending.
    `SELECT * FROM tasks
     WHERE phase = ${TaskPhase.TASK_PHASE_PENDING} AND (slot_state IS NULL OR slot_state = ${SLOT_OWNER})
     ORDER BY priority DESC, ready_time, id`,
  ).all() as TaskRow[];
}
