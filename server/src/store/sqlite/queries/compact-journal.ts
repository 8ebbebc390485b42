/**
 * Deletes the journal through a revision, when that is past how far it was compacted (values: the
 * revision, twice). The condition is in the statement so that it is checked inside the batch's transaction.
 */
export const COMPACT_JOURNAL = `DELETE FROM journal
  WHERE revision <= ? AND ? > coalesce((SELECT value FROM meta WHERE key = 'compacted_through'), 0)`;

/**
 * Records how far the journal was compacted (never backwards), so watchers of older revisions get
 * REVISION_COMPACTED.
 */
export const RAISE_COMPACTED_THROUGH = `INSERT INTO meta (key, value) VALUES ('compacted_through', ?)
  ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`;
