-- The same schema as migrations/sqlite/0001_init.sql, in PostgreSQL's types: BLOB is bytea,
-- ms times and revisions are bigint, labels are jsonb. Text keys that pages are ordered by
-- use the "C" collation, so ids and names sort by their bytes whatever the database's
-- locale (keyset cursors and the id-prefix range rely on that order, as on SQLite).

-- Tasks: the encoded Task (spec + status) plus the columns queries filter on.
CREATE TABLE tasks (
  id          text COLLATE "C" PRIMARY KEY, -- UUIDv7: sorts by creation time
  slot        text COLLATE "C",             -- NULL = no slot
  slot_state  integer,                      -- 1 = owner, 2 = queued, NULL = neither
  phase       integer NOT NULL,             -- supervisor.v1.TaskPhase
  runner_id   text COLLATE "C",
  priority    integer NOT NULL,
  ready_time  bigint NOT NULL,              -- ms: earliest time it may be dispatched
  labels      jsonb NOT NULL,               -- JSON object, for label selectors
  finish_time bigint,                       -- ms, terminal tasks only (retention)
  revision    bigint NOT NULL,
  task        bytea NOT NULL                -- supervisor.v1.Task, protobuf
);
-- One owner per slot, enforced by the database itself.
CREATE UNIQUE INDEX tasks_slot_owner ON tasks (slot) WHERE slot_state = 1;
CREATE INDEX tasks_slot_queue ON tasks (slot, id) WHERE slot_state = 2;
CREATE INDEX tasks_slot ON tasks (slot, id) WHERE slot IS NOT NULL;
CREATE INDEX tasks_phase ON tasks (phase, id);
CREATE INDEX tasks_runner ON tasks (runner_id, id) WHERE runner_id IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finish_time) WHERE finish_time IS NOT NULL;
-- Dispatch order among pending tasks.
CREATE INDEX tasks_pending ON tasks (priority DESC, ready_time, id) WHERE phase = 1 AND (slot_state IS NULL OR slot_state = 1);

-- The revision journal: one row per change, in the same transaction as the change.
CREATE TABLE journal (
  revision       bigint PRIMARY KEY,
  task_id        text COLLATE "C" NOT NULL,
  type           integer NOT NULL,          -- supervisor.v1.EventType
  time           bigint NOT NULL,           -- ms
  prev_phase     integer,                   -- before the change (filters need both sides)
  prev_runner_id text COLLATE "C",
  task           bytea NOT NULL             -- the Task after the change (DELETED: its last state)
);

-- request_id idempotency keys.
CREATE TABLE idempotency_keys (
  request_id  text COLLATE "C" PRIMARY KEY,
  task_id     text COLLATE "C" NOT NULL,
  spec_hash   text NOT NULL,
  create_time bigint NOT NULL
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (create_time);

-- Runs: one attempt of a task on one runner.
CREATE TABLE runs (
  id          text COLLATE "C" PRIMARY KEY,
  task_id     text COLLATE "C" NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  runner_id   text COLLATE "C" NOT NULL,
  phase       integer NOT NULL,             -- supervisor.v1.RunPhase
  output_head_seq bigint NOT NULL DEFAULT 0, -- last chunk of the kept head (the cap drops after it)
  output_dropped  bigint NOT NULL DEFAULT 0,  -- bytes dropped between head and tail
  run         bytea NOT NULL,               -- supervisor.v1.Run, protobuf
  UNIQUE (task_id, attempt)
);
CREATE INDEX runs_active ON runs (runner_id) WHERE phase IN (1, 2);

-- Output chunks per run; the cap keeps the head and the tail.
CREATE TABLE output_chunks (
  run_id  text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq     bigint NOT NULL,
  stream  integer NOT NULL,
  time    bigint NOT NULL,
  data    bytea NOT NULL,
  PRIMARY KEY (run_id, seq)
);

-- Runners ever seen, by unique name.
CREATE TABLE runners (
  id     text COLLATE "C" PRIMARY KEY,
  name   text COLLATE "C" NOT NULL UNIQUE,
  runner bytea NOT NULL                     -- supervisor.v1.Runner, protobuf
);

-- Small facts: compacted_through (journal), and head: the revision counter. On SQLite the
-- single writer keeps the head in memory; here every write transaction locks this row first
-- and moves it once per batch, which makes revision order commit order with no holes.
CREATE TABLE meta (
  key   text COLLATE "C" PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO meta (key, value) VALUES ('compacted_through', 0), ('head', 0);
