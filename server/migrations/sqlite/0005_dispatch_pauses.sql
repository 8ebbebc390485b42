-- Dispatch pauses (issue 20), the same table as migrations/postgres/0005_dispatch_pauses.sql. Not part
-- of the task journal: a pause is created or deleted by one statement; the leader reads them all.
CREATE TABLE dispatch_pauses (
  id          TEXT PRIMARY KEY,  -- client-chosen DNS label
  target_kind TEXT NOT NULL,     -- 'slot', 'concurrency_key' or 'label_selector'
  target      TEXT NOT NULL,     -- the slot, the key or the selector
  note        TEXT NOT NULL,
  create_ms   INTEGER NOT NULL
) WITHOUT ROWID;
