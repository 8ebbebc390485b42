import type { IdempotencyKey } from "../../backend.js";
import { type Queryable, rows } from "../statement.js";

const PUT_KEYS = `INSERT INTO idempotency_keys (request_id, task_id, spec_hash, create_time)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
  ON CONFLICT (request_id) DO UPDATE
  SET task_id = excluded.task_id, spec_hash = excluded.spec_hash, create_time = excluded.create_time`;

const EXPIRE_KEYS = `DELETE FROM idempotency_keys
  WHERE request_id IN (SELECT request_id FROM idempotency_keys WHERE create_time < $1 LIMIT $2)`;

/** Stores request_id keys, replacing a key of the same request_id (the last of a batch wins). */
export function putIdempotencyKeys(db: Queryable, keys: readonly IdempotencyKey[]): Promise<unknown> {
  const last = [...new Map(keys.map((key) => [key.requestId, key])).values()];
  return rows(db, PUT_KEYS, [
    last.map((key) => key.requestId),
    last.map((key) => key.taskId),
    last.map((key) => key.specHash),
    last.map((key) => key.createTimeMs),
  ]);
}

/** Deletes keys created before the cutoff, at most `limit` of them. */
export function expireIdempotencyKeys(db: Queryable, beforeMs: number, limit: number): Promise<unknown> {
  return rows(db, EXPIRE_KEYS, [beforeMs, limit]);
}
