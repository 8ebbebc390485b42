import type { Db } from "../open.js";
import { statement } from "../statement.js";

/**
 * How far the journal may be compacted now: the highest revision both more
 * than `keepRevisions` behind `head` and older than `minAgeCutoffMs`, within
 * the first `batch` rows (only a prefix may go). 0 when nothing may.
 */
export function journalCompactionBound(
  db: Db,
  head: number,
  keepRevisions: number,
  minAgeCutoffMs: number,
  batch: number,
): number {
  const bound = head - keepRevisions;
  if (bound <= 0) return 0;
  const last = statement(
    db,
    `SELECT max(revision) AS r
     FROM (SELECT revision FROM journal WHERE revision <= ? AND time < ? ORDER BY revision LIMIT ?)`,
  ).get(bound, minAgeCutoffMs, batch) as { r: number | null };
  return last.r ?? 0;
}
