import { type IdempotencyKeyRow, type RunnerRow, type RunRow, SLOT_OWNER, SLOT_QUEUED } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

// The reads a write batch makes before it decides: each one query for every key of its kind.

const list = (keys: readonly string[]) => JSON.stringify(keys);

export function tasksByIds(db: Db, ids: readonly string[]): TaskRow[] {
  return statement(db, "SELECT * FROM tasks WHERE id IN (SELECT value FROM json_each(?))").all(list(ids)) as TaskRow[];
}

export function slotOwners(db: Db, slots: readonly string[]): TaskRow[] {
  return statement(
    db,
    `SELECT * FROM tasks WHERE slot_state = ${SLOT_OWNER} AND slot IN (SELECT value FROM json_each(?))`,
  ).all(list(slots)) as TaskRow[];
}

export function slotQueueCount(db: Db, slot: string): number {
  return (
    statement(db, `SELECT count(*) AS n FROM tasks WHERE slot = ? AND slot_state = ${SLOT_QUEUED}`).get(slot) as {
      n: number;
    }
  ).n;
}

/** The oldest queued tasks of a slot (FIFO by id, which sorts by submit time). */
export function slotQueueOldest(db: Db, slot: string, limit: number): TaskRow[] {
  return statement(db, `SELECT * FROM tasks WHERE slot = ? AND slot_state = ${SLOT_QUEUED} ORDER BY id LIMIT ?`).all(
    slot,
    limit,
  ) as TaskRow[];
}

export function idempotencyKeysByIds(db: Db, requestIds: readonly string[]): IdempotencyKeyRow[] {
  return statement(db, "SELECT * FROM idempotency_keys WHERE request_id IN (SELECT value FROM json_each(?))").all(
    list(requestIds),
  ) as IdempotencyKeyRow[];
}

export function runsByIds(db: Db, ids: readonly string[]): RunRow[] {
  return statement(db, "SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?))").all(list(ids)) as RunRow[];
}

export function runnersByNames(db: Db, names: readonly string[]): RunnerRow[] {
  return statement(db, "SELECT * FROM runners WHERE name IN (SELECT value FROM json_each(?))").all(
    list(names),
  ) as RunnerRow[];
}
