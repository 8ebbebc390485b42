import type { OutputChunkRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Stored chunks of a run after `afterSeq`, in order. */
export function readOutputChunks(db: Db, runId: string, afterSeq: number, limit: number): OutputChunkRow[] {
  return statement(db, "SELECT * FROM output_chunks WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?").all(
    runId,
    afterSeq,
    limit,
  ) as OutputChunkRow[];
}
