import { Run, RunnerInfo as Runner, Task } from "@supervisor/sdk";
import { isTerminal, readyTimeMs, type SlotState } from "../../core/task-lifecycle.js";
import type { IdempotencyKey, OutputChunkRecord, StoredTask, TaskChange } from "../backend.js";

// Rows as PostgreSQL returns them (bigint parsed to number, bytea to Buffer, jsonb to an object).

export interface TaskRow {
  id: string;
  slot: string | null;
  slot_state: number | null;
  phase: number;
  runner_id: string | null;
  priority: number;
  ready_time: number;
  labels: Record<string, string>;
  finish_time: number | null;
  revision: number;
  task: Buffer;
}

export interface JournalRow {
  revision: number;
  task_id: string;
  type: number;
  time: number;
  prev_phase: number | null;
  prev_runner_id: string | null;
  task: Buffer;
}

export interface RunRow {
  id: string;
  task_id: string;
  attempt: number;
  runner_id: string;
  phase: number;
  run: Buffer;
}

export interface RunnerRow {
  id: string;
  name: string;
  runner: Buffer;
  /** The server holding its stream; NULL when none. */
  server_id: string | null;
}

export interface IdempotencyKeyRow {
  request_id: string;
  task_id: string;
  spec_hash: string;
  create_time: number;
}

export interface OutputChunkRow {
  run_id: string;
  seq: number;
  stream: number;
  time: number;
  byte_offset: number;
  data: Buffer;
}

/** tasks.slot_state, as in the SQLite schema: the owner of a slot, a task queued behind it, or NULL. */
export const SLOT_OWNER = 1;
export const SLOT_QUEUED = 2;
export const slotStateCode = (state: SlotState): number | null =>
  state === "owner" ? SLOT_OWNER : state === "queued" ? SLOT_QUEUED : null;
const slotStateOf = (code: number | null): SlotState =>
  code === SLOT_OWNER ? "owner" : code === SLOT_QUEUED ? "queued" : "none";

export const storedTask = (row: TaskRow): StoredTask => ({
  task: Task.decode(row.task),
  slotState: slotStateOf(row.slot_state),
  encoded: row.task,
});

export const decodeTask = (row: { task: Buffer }): Task => Task.decode(row.task);
export const decodeRun = (row: RunRow): Run => Run.decode(row.run);
export const decodeRunner = (row: RunnerRow): Runner => Runner.decode(row.runner);

export const idempotencyKeyOf = (row: IdempotencyKeyRow): IdempotencyKey => ({
  requestId: row.request_id,
  taskId: row.task_id,
  specHash: row.spec_hash,
  createTimeMs: row.create_time,
});

export const outputChunkOf = (row: OutputChunkRow): OutputChunkRecord => ({
  runId: row.run_id,
  seq: row.seq,
  stream: row.stream,
  timeMs: row.time,
  offset: row.byte_offset,
  data: row.data,
});

export function journalChangeOf(row: JournalRow): TaskChange {
  const task = Task.decode(row.task);
  return {
    revision: row.revision,
    type: row.type,
    task,
    encoded: row.task,
    previous:
      row.prev_phase === null
        ? undefined
        : {
            id: task.id,
            slot: task.spec?.slot ?? "",
            labels: task.spec?.labels ?? {},
            phase: row.prev_phase,
            runnerId: row.prev_runner_id ?? "",
          },
  };
}

/** The columns of a task row that queries filter on, from the task (as the SQLite backend derives them). */
export function taskColumns(task: Task) {
  const phase = task.status!.phase;
  return {
    slot: task.spec!.slot || null,
    phase,
    runnerId: task.status!.runnerId || null,
    priority: task.spec!.priority,
    readyTime: readyTimeMs(task),
    labels: JSON.stringify(task.spec!.labels),
    finishTime: isTerminal(phase) ? (task.status!.finishTime?.getTime() ?? task.updateTime!.getTime()) : null,
  };
}

/** Bytes for a bytea parameter, without a copy. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
