import type { Db } from "../open.js";
import { statement } from "../statement.js";
import { setMeta } from "./journal-head.js";

/**
 * Deletes the journal through `revision` and records how far it went, so
 * watchers asking for older revisions get REVISION_COMPACTED.
 */
export function compactJournal(db: Db, revision: number): number {
  const deleted = statement(db, "DELETE FROM journal WHERE revision <= ?").run(revision).changes;
  setMeta(db, "compacted_through", revision);
  return deleted;
}
