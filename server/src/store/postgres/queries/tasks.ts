import { TaskPhase } from "@supervisor/sdk";
import type { ListTasksQuery } from "../../list-walk.js";
import type { TaskRow } from "../rows.js";
import { SLOT_OWNER } from "../rows.js";
import { type Queryable, row, rows } from "../statement.js";

export const getTask = (db: Queryable, id: string) => row<TaskRow>(db, "SELECT * FROM tasks WHERE id = $1", [id]);

/** The active task that owns `slot` (served by the partial unique index tasks_slot_owner). */
export const getSlotOwner = (db: Queryable, slot: string) =>
  row<TaskRow>(db, `SELECT * FROM tasks WHERE slot = $1 AND slot_state = ${SLOT_OWNER}`, [slot]);

/** Terminal tasks that finished before the cutoff, oldest first. */
export const expiredTasks = (db: Queryable, cutoffMs: number, limit: number) =>
  rows<TaskRow>(
    db,
    "SELECT task FROM tasks WHERE finish_time IS NOT NULL AND finish_time < $1 ORDER BY finish_time LIMIT $2",
    [cutoffMs, limit],
  );

/** Pending tasks free to run (not queued behind a slot owner), in dispatch order; for the start-up rebuild. */
export const dispatchableTasks = (db: Queryable) =>
  rows<TaskRow>(
    db,
    // Literal values, not parameters: the query must match the partial index tasks_pending.
    `SELECT task FROM tasks
     WHERE phase = ${TaskPhase.TASK_PHASE_PENDING} AND (slot_state IS NULL OR slot_state = ${SLOT_OWNER})
     ORDER BY priority DESC, ready_time, id`,
  );

/** The largest task id ever stored (UUIDv7: the newest), from the tasks or the journal. */
export const newestTaskId = async (db: Queryable) =>
  (
    await row<{ id: string | null }>(
      db,
      "SELECT greatest((SELECT max(id) FROM tasks), (SELECT max(task_id) FROM journal)) AS id",
    )
  )?.id ?? undefined;

/**
 * One page of tasks, newest first, by keyset on id — never OFFSET. The SQL is shaped by which
 * filters are set (each shape a statement of its own) so the planner can pick the matching index.
 */
export function listTasks(db: Queryable, query: ListTasksQuery): Promise<TaskRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (query.beforeId !== undefined) add((n) => `id < ${n}`, query.beforeId);
  if (query.slot !== undefined) add((n) => `slot = ${n}`, query.slot);
  if (query.phases?.length === 1) add((n) => `phase = ${n}`, query.phases[0]);
  else if (query.phases) add((n) => `phase = ANY(${n}::int[])`, query.phases);
  if (query.runnerId !== undefined) add((n) => `runner_id = ${n}`, query.runnerId);
  if (query.idPrefix !== undefined) {
    // Ids are lowercase hex and '-', all below '~' (collation "C"): [prefix, prefix + "~") holds the ids
    // that start with it.
    add((n) => `id >= ${n}`, query.idPrefix);
    add((n) => `id < ${n}`, `${query.idPrefix}~`);
  }
  params.push(query.limit);
  const filter = where.length ? `WHERE ${where.join(" AND ")}` : "";
  return rows<TaskRow>(db, `SELECT * FROM tasks ${filter} ORDER BY id DESC LIMIT $${params.length}`, params);
}
