import type { IdempotencyKeyRow, RunnerRow, RunRow, TaskRow } from "../rows.js";
import { SLOT_OWNER, SLOT_QUEUED } from "../rows.js";
import { type Queryable, rows } from "../statement.js";

// The reads a write batch makes before it decides: each one statement for every key of its kind,
// all sent at once on the transaction's connection.

export const tasksByIds = (db: Queryable, ids: readonly string[]) =>
  rows<TaskRow>(db, "SELECT * FROM tasks WHERE id = ANY($1::text[])", [ids]);

export const slotOwners = (db: Queryable, slots: readonly string[]) =>
  rows<TaskRow>(db, `SELECT * FROM tasks WHERE slot_state = ${SLOT_OWNER} AND slot = ANY($1::text[])`, [slots]);

export const slotQueueCounts = (db: Queryable, slots: readonly string[]) =>
  rows<{ slot: string; n: number }>(
    db,
    `SELECT slot, count(*) AS n FROM tasks WHERE slot_state = ${SLOT_QUEUED} AND slot = ANY($1::text[]) GROUP BY slot`,
    [slots],
  );

/** The oldest queued tasks of each slot (FIFO by id, which sorts by submit time), by slot then id. */
export const slotQueuesOldest = (db: Queryable, slots: readonly string[], limit: number) =>
  rows<TaskRow>(
    db,
    `SELECT t.* FROM unnest($1::text[]) AS s(slot)
     CROSS JOIN LATERAL (
       SELECT * FROM tasks WHERE tasks.slot = s.slot AND slot_state = ${SLOT_QUEUED} ORDER BY id LIMIT $2
     ) AS t
     ORDER BY t.slot, t.id`,
    [slots, limit],
  );

export const idempotencyKeysByIds = (db: Queryable, requestIds: readonly string[]) =>
  rows<IdempotencyKeyRow>(db, "SELECT * FROM idempotency_keys WHERE request_id = ANY($1::text[])", [requestIds]);

export const runsByIds = (db: Queryable, ids: readonly string[]) =>
  rows<RunRow>(db, "SELECT * FROM runs WHERE id = ANY($1::text[])", [ids]);

export const runnersByNames = (db: Queryable, names: readonly string[]) =>
  rows<RunnerRow>(db, "SELECT * FROM runners WHERE name = ANY($1::text[])", [names]);
