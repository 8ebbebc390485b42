import type { ListTasksQuery } from "../../list-walk.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

/**
 * One page of tasks, newest first, by keyset on id — never OFFSET, so page
 * 10 000 costs what page 1 does. The SQL is shaped by which filters are set
 * (each shape prepared once) so SQLite can pick the matching index.
 */
export function listTasks(db: Db, query: ListTasksQuery): TaskRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, value: unknown) => {
    where.push(condition);
    params.push(value);
  };
  if (query.beforeId !== undefined) add("id < ?", query.beforeId);
  if (query.slot !== undefined) add("slot = ?", query.slot);
  if (query.phases?.length === 1) add("phase = ?", query.phases[0]);
  else if (query.phases) add("phase IN (SELECT value FROM json_each(?))", JSON.stringify(query.phases));
  if (query.runnerId !== undefined) add("runner_id = ?", query.runnerId);
  if (query.idPrefix !== undefined) {
    // Ids are lowercase hex and '-', all below '~': [prefix, prefix + "~") holds exactly the ids that start with it.
    add("id >= ?", query.idPrefix);
    add("id < ?", `${query.idPrefix}~`);
  }
  const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
  return statement(db, sql).all(...params, query.limit) as TaskRow[];
}
