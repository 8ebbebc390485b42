import type { ScheduleProgress } from "../../backend.js";
import type { WriteValue } from "../write-ops.js";

/**
 * The scheduler's progress, only over the generation and cursor it read (compare-and-set). The fired
 * task ids (a JSON array, newest first) go in front of the stored ones, the first 10 kept; last_fire_ms
 * only moves forward (a TriggerSchedule may have fired later meanwhile).
 */
export const ADVANCE_SCHEDULE = `UPDATE schedules SET
    cursor_ms = ?,
    next_due_ms = ?,
    last_fire_ms = max(coalesce(last_fire_ms, ?), coalesce(?, last_fire_ms)),
    recent_task_ids = (
      SELECT json_group_array(value ORDER BY k) FROM (
        SELECT key AS k, value FROM json_each(?)
        UNION ALL SELECT 1000000 + key, value FROM json_each(schedules.recent_task_ids)
        ORDER BY k LIMIT 10
      )
    ),
    fired = fired + ?,
    missed = missed + ?,
    skipped = skipped + ?
  WHERE id = ? AND generation = ? AND cursor_ms = ?`;

export const advanceScheduleValues = (
  id: string,
  expected: { generation: number; cursorMs: number },
  progress: ScheduleProgress,
): WriteValue[] => [
  progress.cursorMs,
  progress.nextDueMs,
  progress.lastFireMs ?? null,
  progress.lastFireMs ?? null,
  JSON.stringify(progress.firedTaskIds.slice(0, 10)),
  progress.firedTaskIds.length,
  progress.missed,
  progress.skipped,
  id,
  expected.generation,
  expected.cursorMs,
];
