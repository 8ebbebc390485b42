import type { Db } from "../open.js";
import { statement } from "../statement.js";

export interface OutputExtent {
  seq: number;
  offset: number;
  size: number;
}

/** Where each stored chunk of a run sits, in seq order: rebuilds its output cap after a restart. */
export function outputExtents(db: Db, runId: string): OutputExtent[] {
  return statement(
    db,
    "SELECT seq, byte_offset AS offset, length(data) AS size FROM output_chunks WHERE run_id = ? ORDER BY seq",
  ).all(runId) as OutputExtent[];
}

/** The end offset of the last stored chunk at or before `seq` (0 if none): where a resumed read continues. */
export function outputEndThrough(db: Db, runId: string, seq: number): number {
  const row = statement(
    db,
    `SELECT byte_offset + length(data) AS end FROM output_chunks
     WHERE run_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1`,
  ).get(runId, seq) as { end: number } | undefined;
  return row?.end ?? 0;
}
