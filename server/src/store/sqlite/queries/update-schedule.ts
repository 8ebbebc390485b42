import type { ScheduleRow } from "../../backend.js";
import { encodeDefinition } from "../../rows.js";
import type { WriteValue } from "../write-ops.js";

/**
 * A client's change, only over the generation it read (compare-and-set); the counts stay as they are, and
 * the cursor never goes back (a pass may have moved it on since the client read the row).
 */
export const UPDATE_SCHEDULE = `UPDATE schedules
  SET definition = ?, generation = ?, update_ms = ?, cursor_ms = max(cursor_ms, ?), next_due_ms = ?, paused = ?
  WHERE id = ? AND generation = ?`;

export const updateScheduleValues = (row: ScheduleRow, expectedGeneration: number): WriteValue[] => [
  encodeDefinition(row.definition),
  row.generation,
  row.updateMs,
  row.cursorMs,
  row.nextDueMs,
  row.definition.paused ? 1 : 0,
  row.id,
  expectedGeneration,
];
