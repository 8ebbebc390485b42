import { Run, RunnerInfo as Runner, Schedule, Task } from "@supervisor/sdk";
import { isTerminal, readyTimeMs, type SlotState } from "../core/task-lifecycle.js";
import type { IdempotencyKey, OutputChunkRecord, ScheduleRow, StoredTask, TaskChange } from "./backend.js";

// The rows of the schema, as every backend returns them: both schemas (server/migrations/<backend>/) have
// the same tables and columns, in two dialects. Each backend's driver hands them over normalised at its edge
// — integers as numbers (PostgreSQL's bigint parsed, postgres/connect.ts), bytes as Buffers — except the
// labels column: JSON text from SQLite, an object from PostgreSQL's jsonb (hence `Labels`).

/** A tasks row: the encoded Task plus the columns queries filter and order on. */
export interface TaskRow<Labels> {
  id: string;
  slot: string | null;
  slot_state: number | null;
  phase: number;
  runner_id: string | null;
  priority: number;
  ready_time: number;
  labels: Labels;
  finish_time: number | null;
  revision: number;
  task: Buffer;
}

/** A journal row: one change of one task. */
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
  /** Offset of data[0] in the run's output; a jump from the previous chunk's end is dropped output. */
  byte_offset: number;
  data: Buffer;
}

/** tasks.slot_state: the owner of a slot, a task queued behind it, or NULL (no slot, or done with it). */
export const SLOT_OWNER = 1;
export const SLOT_QUEUED = 2;
export const slotStateCode = (state: SlotState): number | null =>
  state === "owner" ? SLOT_OWNER : state === "queued" ? SLOT_QUEUED : null;
export const slotStateOf = (code: number | null): SlotState =>
  code === SLOT_OWNER ? "owner" : code === SLOT_QUEUED ? "queued" : "none";

/** A tasks row's columns for a task, but its encoded bytes (each backend stores those its own way). */
export function taskColumns(task: Task, slotState: SlotState): Omit<TaskRow<string>, "task"> {
  const phase = task.status!.phase;
  return {
    id: task.id,
    slot: task.spec!.slot || null,
    slot_state: slotStateCode(slotState),
    phase,
    runner_id: task.status!.runnerId || null,
    priority: task.spec!.priority,
    ready_time: readyTimeMs(task),
    labels: JSON.stringify(task.spec!.labels),
    finish_time: isTerminal(phase) ? (task.status!.finishTime?.getTime() ?? task.updateTime!.getTime()) : null,
    revision: task.revision,
  };
}

export const storedTask = (row: { task: Buffer; slot_state: number | null }): StoredTask => ({
  task: Task.decode(row.task),
  slotState: slotStateOf(row.slot_state),
  encoded: row.task,
});

export const decodeTask = (row: { task: Uint8Array }): Task => Task.decode(row.task);
export const decodeRun = (row: { run: Uint8Array }): Run => Run.decode(row.run);
export const decodeRunner = (row: { runner: Uint8Array }): Runner => Runner.decode(row.runner);

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

/** A journal row as the change it records. */
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
            parentId: task.parentId ?? "",
          },
  };
}

/**
 * A schedules row. `recent_task_ids` is JSON text on SQLite, a text[] on PostgreSQL (`Recent`); `paused`
 * (0/1 or a boolean) is never read back: the definition holds it.
 */
export interface ScheduleDbRow<Recent> {
  id: string;
  definition: Buffer;
  generation: number;
  create_ms: number;
  update_ms: number;
  cursor_ms: number;
  next_due_ms: number | null;
  last_fire_ms: number | null;
  recent_task_ids: Recent;
  missed: number;
  skipped: number;
  fired: number;
}

/** A schedules row as the store hands it out, its recent task ids parsed by the backend. */
export const scheduleOf = (row: ScheduleDbRow<unknown>, recentTaskIds: string[]): ScheduleRow => ({
  id: row.id,
  definition: Schedule.decode(row.definition),
  generation: row.generation,
  createMs: row.create_ms,
  updateMs: row.update_ms,
  cursorMs: row.cursor_ms,
  nextDueMs: row.next_due_ms,
  lastFireMs: row.last_fire_ms,
  recentTaskIds,
  missed: row.missed,
  skipped: row.skipped,
  fired: row.fired,
});

/** The definition's bytes as stored. */
export const encodeDefinition = (definition: Schedule): Uint8Array => Schedule.encode(definition).finish();
