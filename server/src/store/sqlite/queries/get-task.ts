import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

export function getTask(db: Db, id: string): TaskRow | undefined {
  return statement(db, "SELECT * FROM tasks WHERE id = ?").get(id) as TaskRow | undefined;
}
