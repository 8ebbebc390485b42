import { SLOT_QUEUED } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

export function countSlotQueue(db: Db, slot: string): number {
  return (
    statement(db, `SELECT count(*) AS n FROM tasks WHERE slot = ? AND slot_state = ${SLOT_QUEUED}`).get(slot) as {
      n: number;
    }
  ).n;
}
