import type { RateKeyRow } from "../../rate-key-rows.js";
import { type Queryable, rows } from "../statement.js";

// rate_keys: the leader's token buckets and the runs' retry-after pauses. Each write keeps the later value of
// what is stored and what it brings, so a write decided on an older view never gives tokens back. One row per
// key per statement (a multi-row upsert may not touch a row twice): the later value of a batch's writes.

const PUT_TATS = `INSERT INTO rate_keys (key, tat_ms)
  SELECT * FROM unnest($1::text[], $2::float8[])
  ON CONFLICT (key) DO UPDATE SET tat_ms = GREATEST(rate_keys.tat_ms, excluded.tat_ms)`;

const PAUSE = `INSERT INTO rate_keys (key, paused_until_ms, paused_by)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
  ON CONFLICT (key) DO UPDATE SET
    paused_by = CASE WHEN excluded.paused_until_ms > rate_keys.paused_until_ms
                     THEN excluded.paused_by ELSE rate_keys.paused_by END,
    paused_until_ms = GREATEST(rate_keys.paused_until_ms, excluded.paused_until_ms)`;

export function putRateKeyTats(db: Queryable, tats: readonly { key: string; tatMs: number }[]): Promise<unknown> {
  const latest = new Map<string, number>();
  for (const { key, tatMs } of tats) latest.set(key, Math.max(latest.get(key) ?? 0, tatMs));
  return rows(db, PUT_TATS, [[...latest.keys()], [...latest.values()]]);
}

export function pauseRateKeys(
  db: Queryable,
  pauses: readonly { key: string; untilMs: number; byRunId: string }[],
): Promise<unknown> {
  const latest = new Map<string, { untilMs: number; byRunId: string }>();
  for (const pause of pauses) {
    if (pause.untilMs > (latest.get(pause.key)?.untilMs ?? -1)) latest.set(pause.key, pause);
  }
  const kept = [...latest];
  return rows(db, PAUSE, [kept.map(([key]) => key), kept.map(([, p]) => p.untilMs), kept.map(([, p]) => p.byRunId)]);
}

/** A full bucket with no pause is the same as no row. */
export const expireRateKeys = (db: Queryable, beforeMs: number): Promise<unknown> =>
  rows(db, "DELETE FROM rate_keys WHERE tat_ms <= $1 AND paused_until_ms <= $1", [beforeMs]);

export const rateKeysByKeys = (db: Queryable, keys: readonly string[]) =>
  rows<RateKeyRow>(db, "SELECT * FROM rate_keys WHERE key = ANY($1::text[])", [keys]);

export const listRateKeys = (db: Queryable) => rows<RateKeyRow>(db, "SELECT * FROM rate_keys ORDER BY key");
