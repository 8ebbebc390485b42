import type { OutputChunkRecord } from "../../backend.js";
import { type Queryable, rows } from "../statement.js";

const INSERT_CHUNKS = `INSERT INTO output_chunks (run_id, seq, stream, time, byte_offset, data)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::bytea[])
  ON CONFLICT (run_id, seq) DO NOTHING`;

const DELETE_CHUNKS = `DELETE FROM output_chunks c
  USING unnest($1::text[], $2::bigint[]) AS d(run_id, seq)
  WHERE c.run_id = d.run_id AND c.seq = d.seq`;

/** Stores chunks; a repeated seq (a runner resending after reconnect) is ignored: the first one stays. */
export function insertOutputChunks(db: Queryable, chunks: readonly OutputChunkRecord[]): Promise<unknown> {
  const first = new Map<string, OutputChunkRecord>();
  for (const chunk of chunks) {
    const key = `${chunk.runId} ${chunk.seq}`;
    if (!first.has(key)) first.set(key, chunk);
  }
  const kept = [...first.values()];
  return rows(db, INSERT_CHUNKS, [
    kept.map((chunk) => chunk.runId),
    kept.map((chunk) => chunk.seq),
    kept.map((chunk) => chunk.stream),
    kept.map((chunk) => chunk.timeMs),
    kept.map((chunk) => chunk.offset),
    kept.map((chunk) => chunk.data),
  ]);
}

/** Drops stored chunks (the oldest of a kept tail, when the cap is reached). */
export function deleteOutputChunks(db: Queryable, chunks: readonly { runId: string; seq: number }[]): Promise<unknown> {
  return rows(db, DELETE_CHUNKS, [chunks.map((chunk) => chunk.runId), chunks.map((chunk) => chunk.seq)]);
}
