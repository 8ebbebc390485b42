import type { Db } from "../open.js";
import { statement } from "../statement.js";
import { setMeta } from "./journal-head.js";

/**
 * Deletes journal rows that are both older than `minAgeCutoffMs` and more than
 * `keepRevisions` behind `head`; records how far it went so watchers asking
 * for older revisions get REVISION_COMPACTED. Returns rows deleted.
 */
export function compactJournal(
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
  if (last.r === null) return 0;
  // Only a prefix may go: stop at the first row too young to delete.
  const deleted = statement(db, "DELETE FROM journal WHERE revision <= ?").run(last.r).changes;
  setMeta(db, "compacted_through", last.r);
  return deleted;
}
