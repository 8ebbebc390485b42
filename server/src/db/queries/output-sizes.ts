import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Seq and size of each stored chunk of a run, to rebuild its output cap after a restart. */
export function outputSizes(db: Db, runId: string): { seq: number; size: number }[] {
  return statement(db, "SELECT seq, length(data) AS size FROM output_chunks WHERE run_id = ? ORDER BY seq").all(
    runId,
  ) as { seq: number; size: number }[];
}
