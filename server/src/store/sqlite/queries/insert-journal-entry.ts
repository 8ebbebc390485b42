import type { TaskChange } from "../../backend.js";
import type { WriteValue } from "../write-ops.js";

/** One change of one task, in revision order (the journal's rows are never rewritten). */
export const INSERT_JOURNAL_ENTRY = `INSERT INTO journal
    (revision, task_id, type, time, prev_phase, prev_runner_id, task)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** The entry of `change`, made at `timeMs`; `encoded` is the task after the change. */
export const journalEntryValues = (change: TaskChange, timeMs: number, encoded: Uint8Array): WriteValue[] => [
  change.revision,
  change.task.id,
  change.type,
  timeMs,
  change.previous?.phase ?? null,
  change.previous ? change.previous.runnerId : null,
  encoded,
];
