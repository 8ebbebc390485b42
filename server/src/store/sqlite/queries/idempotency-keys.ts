import type { IdempotencyKey } from "../../backend.js";
import type { WriteValue } from "../write-ops.js";

export const PUT_IDEMPOTENCY_KEY = `INSERT OR REPLACE INTO idempotency_keys
    (request_id, task_id, spec_hash, create_time)
  VALUES (?, ?, ?, ?)`;

export const idempotencyKeyValues = (key: IdempotencyKey): WriteValue[] => [
  key.requestId,
  key.taskId,
  key.specHash,
  key.createTimeMs,
];

/** Deletes keys created before a cutoff, at most a batch of them: values cutoff (ms), batch. */
export const DELETE_EXPIRED_IDEMPOTENCY_KEYS = `DELETE FROM idempotency_keys
  WHERE request_id IN (SELECT request_id FROM idempotency_keys WHERE create_time < ? LIMIT ?)`;
