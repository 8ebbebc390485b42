import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { SqliteScheduleRow } from "./schedule-row.js";

/** Unpaused schedules due at `nowMs`, soonest first: a walk of the partial index schedules_due. */
export const dueSchedules = (db: Db, nowMs: number, limit: number): SqliteScheduleRow[] =>
  statement(db, "SELECT * FROM schedules WHERE paused = 0 AND next_due_ms <= ? ORDER BY next_due_ms, id LIMIT ?").all(
    nowMs,
    limit,
  ) as SqliteScheduleRow[];
