import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { SqliteScheduleRow } from "./schedule-row.js";

/** Schedules by id after `afterId` (keyset). */
export const listSchedules = (db: Db, afterId: string, limit: number): SqliteScheduleRow[] =>
  statement(db, "SELECT * FROM schedules WHERE id > ? ORDER BY id LIMIT ?").all(afterId, limit) as SqliteScheduleRow[];
