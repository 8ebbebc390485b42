import type { WriteValue } from "../write-ops.js";
import type { TaskColumns } from "./task-row.js";

/** Stores a new task; an id stored already fails the batch (PRIMARY KEY). */
export const INSERT_TASK = `INSERT INTO tasks
    (id, slot, slot_state, phase, runner_id, priority, ready_time, labels, finish_time, revision, task)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export const insertTaskValues = (row: TaskColumns): WriteValue[] => [
  row.id,
  row.slot,
  row.slot_state,
  row.phase,
  row.runner_id,
  row.priority,
  row.ready_time,
  row.labels,
  row.finish_time,
  row.revision,
  row.task,
];
