import { SLOT_QUEUED } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

/** The oldest queued task of `slot` (FIFO by id, which sorts by submit time). */
export function nextInSlotQueue(db: Db, slot: string): TaskRow | undefined {
  return statement(db, `SELECT * FROM tasks WHERE slot = ? AND slot_state = ${SLOT_QUEUED} ORDER BY id LIMIT 1`).get(
    slot,
  ) as TaskRow | undefined;
}
