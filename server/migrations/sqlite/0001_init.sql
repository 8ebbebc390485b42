-- Tasks: the encoded Task (spec + status) plus the columns queries filter on.
CREATE TABLE tasks (
  id          TEXT PRIMARY KEY,            -- UUIDv7: sorts by creation time
  slot        TEXT,                        -- NULL = no slot
  slot_state  INTEGER,                     -- 1 = owner, 2 = queued, NULL = neither
  phase       INTEGER NOT NULL,            -- supervisor.v1.TaskPhase
  runner_id   TEXT,
  priority    INTEGER NOT NULL,
  ready_time  INTEGER NOT NULL,            -- ms: earliest time it may be dispatched
  labels      TEXT NOT NULL,               -- JSON object, for label selectors
  finish_time INTEGER,                     -- ms, terminal tasks only (retention)
  revision    INTEGER NOT NULL,
  task        BLOB NOT NULL                -- supervisor.v1.Task, protobuf
) WITHOUT ROWID;
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
  revision       INTEGER PRIMARY KEY,
  task_id        TEXT NOT NULL,
  type           INTEGER NOT NULL,         -- supervisor.v1.EventType
  time           INTEGER NOT NULL,         -- ms
  prev_phase     INTEGER,                  -- before the change (filters need both sides)
  prev_runner_id TEXT,
  task           BLOB NOT NULL             -- the Task after the change (DELETED: its last state)
);

-- request_id idempotency keys.
CREATE TABLE idempotency_keys (
  request_id  TEXT PRIMARY KEY,
  task_id     TEXT NOT NULL,
  spec_hash   TEXT NOT NULL,
  create_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys (create_time);

-- Runs: one attempt of a task on one runner.
CREATE TABLE runs (
  id          TEXT PRIMARY KEY,
  task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  runner_id   TEXT NOT NULL,
  phase       INTEGER NOT NULL,            -- supervisor.v1.RunPhase
  output_head_seq INTEGER NOT NULL DEFAULT 0, -- last chunk of the kept head (the cap drops after it)
  output_dropped  INTEGER NOT NULL DEFAULT 0, -- bytes dropped between head and tail
  run         BLOB NOT NULL,               -- supervisor.v1.Run, protobuf
  UNIQUE (task_id, attempt)
) WITHOUT ROWID;
CREATE INDEX runs_active ON runs (runner_id) WHERE phase IN (1, 2);

-- Output chunks per run; the cap keeps the head and the tail.
CREATE TABLE output_chunks (
  run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  stream  INTEGER NOT NULL,
  time    INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Runners ever seen, by unique name.
CREATE TABLE runners (
  id     TEXT PRIMARY KEY,
  name   TEXT NOT NULL UNIQUE,
  runner BLOB NOT NULL                     -- supervisor.v1.Runner, protobuf
) WITHOUT ROWID;

-- Small facts: compacted_through (journal), ...
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('compacted_through', 0);
