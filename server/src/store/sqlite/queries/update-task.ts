import type { WriteValue } from "../write-ops.js";
import type { TaskColumns } from "./task-row.js";

/** Rewrites a stored task (its slot, priority and labels never change). The id is the last value. */
export const UPDATE_TASK = `UPDATE tasks
  SET slot_state = ?, phase = ?, runner_id = ?, ready_time = ?, finish_time = ?, revision = ?, task = ?
  WHERE id = ?`;

export const UPDATE_TASK_ID = 7;

export const updateTaskValues = (row: TaskColumns): WriteValue[] => [
  row.slot_state,
  row.phase,
  row.runner_id,
  row.ready_time,
  row.finish_time,
  row.revision,
  row.task,
  row.id,
];
