import type { OutputChunkRecord } from "../../backend.js";
import { exactBytes } from "../exact-bytes.js";
import type { WriteValue } from "../write-ops.js";

/** Stores a chunk; a repeated seq (a runner resending after reconnect) is ignored. */
export const INSERT_OUTPUT_CHUNK = `INSERT OR IGNORE INTO output_chunks (run_id, seq, stream, time, byte_offset, data)
  VALUES (?, ?, ?, ?, ?, ?)`;

export const outputChunkValues = (chunk: OutputChunkRecord): WriteValue[] => [
  chunk.runId,
  chunk.seq,
  chunk.stream,
  chunk.timeMs,
  chunk.offset,
  exactBytes(chunk.data),
];
