import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

export interface ListTasksQuery {
  /** Exclusive upper bound on id (keyset cursor); undefined = from the newest. */
  beforeId?: string;
  slot?: string;
  phases?: number[];
  runnerId?: string;
  limit: number;
}

/**
 * One page of tasks, newest first, by keyset on id — never OFFSET, so page
 * 10 000 costs what page 1 does. The SQL is shaped by which filters are set
 * (each shape prepared once) so SQLite can pick the matching index.
 */
export function listTasks(db: Db, query: ListTasksQuery): TaskRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.beforeId !== undefined) where.push("id < ?"), params.push(query.beforeId);
  if (query.slot !== undefined) where.push("slot = ?"), params.push(query.slot);
  if (query.phases?.length === 1) where.push("phase = ?"), params.push(query.phases[0]);
  else if (query.phases) where.push("phase IN (SELECT value FROM json_each(?))"), params.push(JSON.stringify(query.phases));
  if (query.runnerId !== undefined) where.push("runner_id = ?"), params.push(query.runnerId);
  const sql = `SELECT * FROM tasks ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?`;
  return statement(db, sql).all(...params, query.limit) as TaskRow[];
}
