import type { Db } from "../open.js";
import { statement } from "../statement.js";

export interface IdempotencyKeyRow {
  request_id: string;
  task_id: string;
  spec_hash: string;
  create_time: number;
}

export function getIdempotencyKey(db: Db, requestId: string): IdempotencyKeyRow | undefined {
  return statement(db, "SELECT * FROM idempotency_keys WHERE request_id = ?").get(requestId) as
    | IdempotencyKeyRow
    | undefined;
}

export function putIdempotencyKey(db: Db, row: IdempotencyKeyRow): void {
  statement(
    db,
    `INSERT OR REPLACE INTO idempotency_keys (request_id, task_id, spec_hash, create_time)
     VALUES (@request_id, @task_id, @spec_hash, @create_time)`,
  ).run(row);
}

/** Deletes keys created before the cutoff, at most `batch` at a time. */
export function deleteExpiredIdempotencyKeys(db: Db, cutoffMs: number, batch: number): number {
  return statement(
    db,
    `DELETE FROM idempotency_keys
     WHERE request_id IN (SELECT request_id FROM idempotency_keys WHERE create_time < ? LIMIT ?)`,
  ).run(cutoffMs, batch).changes;
}
