import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Drops one stored chunk (the oldest of the kept tail, when the cap is reached). */
export function deleteOutputChunk(db: Db, runId: string, seq: number): void {
  statement(db, "DELETE FROM output_chunks WHERE run_id = ? AND seq = ?").run(runId, seq);
}
