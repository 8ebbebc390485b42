import type { Db } from "../open.js";
import { statement } from "../statement.js";

export interface OutputChunkRow {
  run_id: string;
  seq: number;
  stream: number;
  time: number;
  data: Buffer;
}

/** Stores a chunk; a repeated seq (a runner resending after reconnect) is ignored. */
export function insertOutputChunk(db: Db, row: OutputChunkRow): boolean {
  return (
    statement(
      db,
      `INSERT OR IGNORE INTO output_chunks (run_id, seq, stream, time, data)
       VALUES (@run_id, @seq, @stream, @time, @data)`,
    ).run(row).changes > 0
  );
}
