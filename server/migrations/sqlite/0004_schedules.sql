-- Schedules (issue 18), the same table as migrations/postgres/0004_schedules.sql. Not part of the
-- task journal: a client's change (definition, generation) and the scheduler's progress (cursor,
-- counts) are columns each written by one conditional statement. Times are ms since the epoch.
CREATE TABLE schedules (
  id              TEXT PRIMARY KEY,
  definition      BLOB NOT NULL,         -- supervisor.v1.Schedule, the client's fields only, protobuf
  generation      INTEGER NOT NULL,      -- 1 on create, +1 per client change
  create_ms       INTEGER NOT NULL,
  update_ms       INTEGER NOT NULL,
  cursor_ms       INTEGER NOT NULL,      -- every tick at or before this is handled
  next_due_ms     INTEGER,               -- the first tick after the cursor; NULL = never due
  paused          INTEGER NOT NULL,      -- 1 when the definition is paused (copied, for the index)
  last_fire_ms    INTEGER,               -- nominal time of the newest fire
  recent_task_ids TEXT NOT NULL,         -- JSON array of task ids, newest first, at most 10
  missed          INTEGER NOT NULL,
  skipped         INTEGER NOT NULL,
  fired           INTEGER NOT NULL
) WITHOUT ROWID;
-- What the scheduler asks for: the unpaused schedules, soonest due first.
CREATE INDEX schedules_due ON schedules (next_due_ms, id) WHERE paused = 0;
