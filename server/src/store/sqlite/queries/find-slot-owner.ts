import { SLOT_OWNER } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

/** The active task that owns `slot` (served by the partial unique index tasks_slot_owner). */
export function findSlotOwner(db: Db, slot: string): TaskRow | undefined {
  return statement(db, `SELECT * FROM tasks WHERE slot = ? AND slot_state = ${SLOT_OWNER}`).get(slot) as
    | TaskRow
    | undefined;
}
