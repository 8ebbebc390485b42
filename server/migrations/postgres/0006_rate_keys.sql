-- Rate limits and retry-after pauses (issue 20), the same table as migrations/sqlite/0006_rate_keys.sql.
-- One row per key whose bucket is not full or that a retry-after pauses: written in the commit of the
-- leader's assigns that take its tokens (tat_ms) or of the run end that paused it (paused_until_ms, by
-- the server holding the runner); a full, unpaused bucket is the same as no row, so such rows are
-- deleted now and then.
CREATE TABLE rate_keys (
  key             text COLLATE "C" PRIMARY KEY,       -- a rate-limit or concurrency key, as stored in specs
  tat_ms          double precision NOT NULL DEFAULT 0, -- GCRA theoretical arrival time (ms since the epoch)
  paused_until_ms bigint NOT NULL DEFAULT 0,           -- a retry-after holds the key until then
  paused_by       text NOT NULL DEFAULT ''             -- the run whose retry-after did
);
