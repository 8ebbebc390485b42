import { type Queryable, row, rows } from "../statement.js";

const LOCK_HEAD = "SELECT value FROM meta WHERE key = 'head' FOR UPDATE";
const META = "SELECT value FROM meta WHERE key = $1";

/**
 * Locks the revision counter and reads it: the first statement of every write transaction. The
 * lock is held through the commit, so write transactions commit one at a time in revision order,
 * and each one's reads (READ COMMITTED, after the lock) see every commit before it.
 */
export async function lockHead(db: Queryable): Promise<number> {
  return (await row<{ value: number }>(db, LOCK_HEAD))!.value;
}

/** The newest committed revision. */
export async function readHead(db: Queryable): Promise<number> {
  return (await row<{ value: number }>(db, META, ["head"]))!.value;
}

/** Revisions at or below this were compacted out of the journal. */
export async function compactedThrough(db: Queryable): Promise<number> {
  return (await row<{ value: number }>(db, META, ["compacted_through"]))!.value;
}

const COMPACT = `WITH moved AS (
    UPDATE meta SET value = $1 WHERE key = 'compacted_through' AND value < $1 RETURNING value
  )
  DELETE FROM journal WHERE revision <= $1 AND EXISTS (SELECT 1 FROM moved)`;

/** Deletes the journal through `revision` and records how far it went (never backwards). */
export function compactJournal(db: Queryable, revision: number): Promise<unknown> {
  return rows(db, COMPACT, [revision]);
}
