import type { ScheduleRow } from "../../backend.js";
import { encodeDefinition } from "../../rows.js";
import type { WriteValue } from "../write-ops.js";

/** A new schedule; an id already taken changes nothing (the caller is told by the count of changed rows). */
export const INSERT_SCHEDULE = `INSERT INTO schedules (id, definition, generation, create_ms, update_ms, cursor_ms,
    next_due_ms, paused, last_fire_ms, recent_task_ids, missed, skipped, fired)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

export const insertScheduleValues = (row: ScheduleRow): WriteValue[] => [
  row.id,
  encodeDefinition(row.definition),
  row.generation,
  row.createMs,
  row.updateMs,
  row.cursorMs,
  row.nextDueMs,
  row.definition.paused ? 1 : 0,
  row.lastFireMs,
  JSON.stringify(row.recentTaskIds.slice(0, 10)),
  row.missed,
  row.skipped,
  row.fired,
];
