import type { JournalRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Changes after `afterRevision`, oldest first. */
export function readJournal(db: Db, afterRevision: number, limit: number): JournalRow[] {
  return statement(db, "SELECT * FROM journal WHERE revision > ? ORDER BY revision LIMIT ?").all(
    afterRevision,
    limit,
  ) as JournalRow[];
}
