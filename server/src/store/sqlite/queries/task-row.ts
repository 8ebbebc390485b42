import { Task } from "@supervisor/sdk";
import type { SlotState } from "../../../core/task-lifecycle.js";
import { isTerminal, readyTimeMs } from "../../../core/task-lifecycle.js";

/** A tasks row as stored. */
export interface TaskRow {
  id: string;
  slot: string | null;
  slot_state: number | null;
  phase: number;
  runner_id: string | null;
  priority: number;
  ready_time: number;
  labels: string;
  finish_time: number | null;
  revision: number;
  task: Buffer;
}

/** tasks.slot_state: the owner of a slot, a task queued behind it, or NULL (no slot, or done with it). */
export const SLOT_OWNER = 1;
export const SLOT_QUEUED = 2;
const SLOT_STATE_CODE: Record<SlotState, number | null> = { owner: SLOT_OWNER, queued: SLOT_QUEUED, none: null };
export const slotStateOf = (code: number | null): SlotState =>
  code === SLOT_OWNER ? "owner" : code === SLOT_QUEUED ? "queued" : "none";

/** A tasks row as the writer stores it: the encoded Task in a buffer of its own (it is posted to the writer thread). */
export type TaskColumns = Omit<TaskRow, "task"> & { task: Uint8Array };

/** The row for a task: its encoded bytes plus the columns queries filter on. */
export function toTaskRow(task: Task, slotState: SlotState, encoded: Uint8Array): TaskColumns {
  const phase = task.status!.phase;
  return {
    id: task.id,
    slot: task.spec!.slot || null,
    slot_state: SLOT_STATE_CODE[slotState],
    phase,
    runner_id: task.status!.runnerId || null,
    priority: task.spec!.priority,
    ready_time: readyTimeMs(task),
    labels: JSON.stringify(task.spec!.labels),
    finish_time: isTerminal(phase) ? (task.status!.finishTime?.getTime() ?? task.updateTime!.getTime()) : null,
    revision: task.revision,
    task: encoded,
  };
}

export const decodeTask = (bytes: Uint8Array): Task => Task.decode(bytes);
