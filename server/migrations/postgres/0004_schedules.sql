-- Schedules (issue 18), the same table as migrations/sqlite/0004_schedules.sql. Not part of the
-- task journal: a client's change (definition, generation) and the scheduler's progress (cursor,
-- counts) are columns each written by one conditional statement, so servers sharing the database
-- never overwrite each other's (compare-and-set on generation and cursor_ms). Times are ms since
-- the epoch, by the writing server's clock (the scheduler's ticks are its, not the database's).
CREATE TABLE schedules (
  id              text COLLATE "C" PRIMARY KEY, -- pages are by id, byte order as on SQLite
  definition      bytea NOT NULL,               -- supervisor.v1.Schedule, the client's fields only
  generation      bigint NOT NULL,              -- 1 on create, +1 per client change
  create_ms       bigint NOT NULL,
  update_ms       bigint NOT NULL,
  cursor_ms       bigint NOT NULL,              -- every tick at or before this is handled
  next_due_ms     bigint,                       -- the first tick after the cursor; NULL = never due
  paused          boolean NOT NULL,             -- the definition's paused (copied, for the index)
  last_fire_ms    bigint,                       -- nominal time of the newest fire
  recent_task_ids text[] NOT NULL,              -- task ids, newest first, at most 10
  missed          bigint NOT NULL,
  skipped         bigint NOT NULL,
  fired           bigint NOT NULL
);
-- What the scheduler asks for: the unpaused schedules, soonest due first.
CREATE INDEX schedules_due ON schedules (next_due_ms, id) WHERE NOT paused;
