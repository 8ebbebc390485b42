import { type Queryable, row, rows } from "../statement.js";
import type { PostgresScheduleRow } from "./schedules.js";

export const getSchedule = (db: Queryable, id: string) =>
  row<PostgresScheduleRow>(db, "SELECT * FROM schedules WHERE id = $1", [id]);

/** Schedules by id after `afterId` (keyset). */
export const listSchedules = (db: Queryable, afterId: string, limit: number) =>
  rows<PostgresScheduleRow>(db, "SELECT * FROM schedules WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit]);

/** Unpaused schedules due at `nowMs`, soonest first: a walk of the partial index schedules_due. */
export const dueSchedules = (db: Queryable, nowMs: number, limit: number) =>
  rows<PostgresScheduleRow>(
    db,
    "SELECT * FROM schedules WHERE NOT paused AND next_due_ms <= $1 ORDER BY next_due_ms, id LIMIT $2",
    [nowMs, limit],
  );

/** The soonest next_due_ms of the unpaused schedules (the first entry of schedules_due), or undefined. */
export const nextDueSchedule = async (db: Queryable): Promise<number | undefined> =>
  (await row<{ due: number | null }>(db, "SELECT min(next_due_ms) AS due FROM schedules WHERE NOT paused"))?.due ??
  undefined;
