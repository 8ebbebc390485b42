-- Several servers on one database (issue 17): the leader lease, server liveness, and which
-- server holds each runner's stream. Times here come from the database's clock (now()), never
-- from a server's, so servers whose clocks disagree still agree on who leads and who is alive.

-- The leader lease: one row, taken by INSERT … ON CONFLICT and renewed while it has not
-- expired. The epoch grows with every new term (never reused, so the row is kept when its
-- holder resigns: it is marked expired instead) and every leader write checks it: the fencing
-- token that keeps a deposed leader's writes out.
CREATE TABLE leader (
  name       text COLLATE "C" PRIMARY KEY, -- 'default': one leader per database
  server_id  text COLLATE "C" NOT NULL,    -- servers.id of the holder
  epoch      bigint NOT NULL,              -- the term: 1, 2, 3, … across every server
  elected_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL          -- the lease is held while now() <= this
);

-- Every server that shares the database, heartbeating while it runs; a clean stop deletes its row.
CREATE TABLE servers (
  id           text COLLATE "C" PRIMARY KEY,
  address      text NOT NULL,               -- host:port as it listens ('' until it does)
  host         text NOT NULL,               -- the machine's hostname
  pid          integer NOT NULL,
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL
);

-- The server holding the runner's stream (servers.id); NULL when no server does (disconnected).
ALTER TABLE runners ADD COLUMN server_id text COLLATE "C";
