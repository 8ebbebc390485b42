import type { Task } from "@supervisor/sdk";
import type { SlotState } from "../../../core/task-lifecycle.js";
import { type TaskRow as SchemaTaskRow, taskColumns } from "../../rows.js";

/** A tasks row as SQLite returns it (../../rows.ts): the labels column is JSON text. */
export type TaskRow = SchemaTaskRow<string>;

/** A tasks row as the writer stores it: the encoded Task in a buffer of its own (it is posted to the writer thread). */
export type TaskColumns = Omit<TaskRow, "task"> & { task: Uint8Array };

/** The row for a task: its encoded bytes plus the columns queries filter on. */
export const toTaskRow = (task: Task, slotState: SlotState, encoded: Uint8Array): TaskColumns => ({
  ...taskColumns(task, slotState),
  task: encoded,
});
