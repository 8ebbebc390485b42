import type { WriteValue } from "../write-ops.js";

/** A TriggerSchedule's fire: its task in front of the recent ones (10 kept), counted; no condition. */
export const RECORD_SCHEDULE_TRIGGER = `UPDATE schedules SET
    recent_task_ids = (
      SELECT json_group_array(value ORDER BY k) FROM (
        SELECT -1 AS k, ? AS value
        UNION ALL SELECT key, value FROM json_each(schedules.recent_task_ids)
        ORDER BY k LIMIT 10
      )
    ),
    fired = fired + 1,
    last_fire_ms = max(coalesce(last_fire_ms, ?), ?)
  WHERE id = ?`;

export const recordScheduleTriggerValues = (id: string, taskId: string, nominalMs: number): WriteValue[] => [
  taskId,
  nominalMs,
  nominalMs,
  id,
];
