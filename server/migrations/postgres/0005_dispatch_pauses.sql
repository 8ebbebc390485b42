-- Dispatch pauses (issue 20), the same table as migrations/sqlite/0005_dispatch_pauses.sql. Not part
-- of the task journal: a pause is created or deleted by one statement (then pg_notify on
-- supervisor_dispatch_pauses); the leader reads them all, on that notification and every few seconds.
CREATE TABLE dispatch_pauses (
  id          text COLLATE "C" PRIMARY KEY, -- client-chosen DNS label; listed by id, as on SQLite
  target_kind text NOT NULL,                -- 'slot', 'concurrency_key' or 'label_selector'
  target      text NOT NULL,                -- the slot, the key or the selector
  note        text NOT NULL,
  create_ms   bigint NOT NULL
);
