import type { OutputExtent } from "../../backend.js";
import type { OutputChunkRow } from "../rows.js";
import { type Queryable, row, rows } from "../statement.js";

/** Stored chunks of a run after `afterSeq`, in order. */
export const readOutputChunks = (db: Queryable, runId: string, afterSeq: number, limit: number) =>
  rows<OutputChunkRow>(db, "SELECT * FROM output_chunks WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", [
    runId,
    afterSeq,
    limit,
  ]);

/** Where each stored chunk of a run sits, in seq order: rebuilds its output cap after a restart. */
export const outputExtents = async (db: Queryable, runId: string): Promise<OutputExtent[]> =>
  (
    await rows<{ seq: number; byte_offset: number; size: number }>(
      db,
      "SELECT seq, byte_offset, length(data) AS size FROM output_chunks WHERE run_id = $1 ORDER BY seq",
      [runId],
    )
  ).map((extent) => ({ seq: extent.seq, offset: extent.byte_offset, size: extent.size }));

/** The end offset of the last stored chunk at or before `seq` (0 if none): where a resumed read continues. */
export const outputEndThrough = async (db: Queryable, runId: string, seq: number): Promise<number> =>
  (
    await row<{ end_offset: number }>(
      db,
      `SELECT byte_offset + length(data) AS end_offset FROM output_chunks
       WHERE run_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1`,
      [runId, seq],
    )
  )?.end_offset ?? 0;
