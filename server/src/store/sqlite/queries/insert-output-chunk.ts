import type { Db } from "../open.js";
import { statement } from "../statement.js";

export interface OutputChunkRow {
  run_id: string;
  seq: number;
  stream: number;
  time: number;
  /** Offset of data[0] in the run's output; a jump from the previous chunk's end is dropped output. */
  byte_offset: number;
  data: Buffer;
}

/** Stores a chunk; a repeated seq (a runner resending after reconnect) is ignored. */
export function insertOutputChunk(db: Db, row: OutputChunkRow): boolean {
  return (
    statement(
      db,
      `INSERT OR IGNORE INTO output_chunks (run_id, seq, stream, time, byte_offset, data)
       VALUES (@run_id, @seq, @stream, @time, @byte_offset, @data)`,
    ).run(row).changes > 0
  );
}
