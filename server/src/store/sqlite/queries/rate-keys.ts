import type { RateKeyRow } from "../../rate-key-rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

// rate_keys: the leader's token buckets and the runs' retry-after pauses. Each write keeps the later value of
// what is stored and what it brings, so a write decided on an older view never gives tokens back.

/** Values: key, tat_ms. */
export const PUT_RATE_KEY_TAT = `INSERT INTO rate_keys (key, tat_ms) VALUES (?, ?)
  ON CONFLICT (key) DO UPDATE SET tat_ms = max(tat_ms, excluded.tat_ms)`;

/** Values: key, paused_until_ms, paused_by. */
export const PAUSE_RATE_KEY = `INSERT INTO rate_keys (key, paused_until_ms, paused_by) VALUES (?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET
    paused_by = CASE WHEN excluded.paused_until_ms > paused_until_ms THEN excluded.paused_by ELSE paused_by END,
    paused_until_ms = max(paused_until_ms, excluded.paused_until_ms)`;

/** Values: before (ms) twice. A full bucket with no pause is the same as no row. */
export const EXPIRE_RATE_KEYS = "DELETE FROM rate_keys WHERE tat_ms <= ? AND paused_until_ms <= ?";

export const rateKeysByKeys = (db: Db, keys: readonly string[]): RateKeyRow[] =>
  statement(db, "SELECT * FROM rate_keys WHERE key IN (SELECT value FROM json_each(?))").all(
    JSON.stringify(keys),
  ) as RateKeyRow[];

export const listRateKeys = (db: Db): RateKeyRow[] =>
  statement(db, "SELECT * FROM rate_keys ORDER BY key").all() as RateKeyRow[];
