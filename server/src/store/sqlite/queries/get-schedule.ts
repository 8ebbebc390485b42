import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { SqliteScheduleRow } from "./schedule-row.js";

export const getSchedule = (db: Db, id: string): SqliteScheduleRow | undefined =>
  statement(db, "SELECT * FROM schedules WHERE id = ?").get(id) as SqliteScheduleRow | undefined;
