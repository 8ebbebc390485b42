-- The same tables as migrations/postgres/0003_cluster.sql, so both schemas stay one. A SQLite
-- file has one server (its lock), which always leads: it fills runners.server_id with its own
-- id and needs no lease or heartbeat rows. Times are ms since the epoch.

-- The leader lease (PostgreSQL's servers elect one through this row).
CREATE TABLE leader (
  name       TEXT PRIMARY KEY,
  server_id  TEXT NOT NULL,
  epoch      INTEGER NOT NULL,
  elected_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Servers sharing the database, with their heartbeats.
CREATE TABLE servers (
  id           TEXT PRIMARY KEY,
  address      TEXT NOT NULL,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The server holding the runner's stream; NULL when none does (disconnected).
ALTER TABLE runners ADD COLUMN server_id TEXT;
