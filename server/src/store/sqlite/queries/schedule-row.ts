import type { ScheduleRow } from "../../backend.js";
import { type ScheduleDbRow, scheduleOf } from "../../rows.js";

/** A schedules row as SQLite returns it: the recent task ids as JSON text. */
export type SqliteScheduleRow = ScheduleDbRow<string>;

export const sqliteScheduleOf = (row: SqliteScheduleRow): ScheduleRow =>
  scheduleOf(row, JSON.parse(row.recent_task_ids) as string[]);
