import type { TaskRow as SchemaTaskRow } from "../rows.js";

// Rows as PostgreSQL returns them: the schema's rows (../rows.ts) — bigint parsed to a number (connect.ts),
// bytea to a Buffer — with the jsonb labels parsed to an object. What this backend's files use of ../rows.ts
// they take from here.

export type TaskRow = SchemaTaskRow<Record<string, string>>;

export type { IdempotencyKeyRow, JournalRow, OutputChunkRow, RunnerRow, RunRow } from "../rows.js";
export {
  decodeRun,
  decodeRunner,
  decodeTask,
  idempotencyKeyOf,
  journalChangeOf,
  outputChunkOf,
  SLOT_OWNER,
  SLOT_QUEUED,
  slotStateCode,
  storedTask,
  taskColumns,
} from "../rows.js";

/** Bytes for a bytea parameter, without a copy. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
