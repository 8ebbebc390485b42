import type { JournalRow } from "../rows.js";
import { type Queryable, row, rows } from "../statement.js";

/** Changes after `afterRevision`, oldest first. */
export const readJournal = (db: Queryable, afterRevision: number, limit: number) =>
  rows<JournalRow>(db, "SELECT * FROM journal WHERE revision > $1 ORDER BY revision LIMIT $2", [afterRevision, limit]);

/**
 * How far the journal may be compacted now: the highest revision both more than `keepRevisions`
 * behind the head and older than `minAgeCutoffMs`, within the first `batch` rows (only a prefix
 * may go). 0 when nothing may. The head is read in the same statement (one snapshot).
 */
export const journalCompactionBound = async (
  db: Queryable,
  keepRevisions: number,
  minAgeCutoffMs: number,
  batch: number,
): Promise<number> =>
  (
    await row<{ r: number | null }>(
      db,
      `SELECT max(revision) AS r FROM (
         SELECT revision FROM journal
         WHERE revision <= (SELECT value FROM meta WHERE key = 'head') - $1 AND time < $2
         ORDER BY revision LIMIT $3
       ) AS prefix`,
      [keepRevisions, minAgeCutoffMs, batch],
    )
  )?.r ?? 0;
