import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Deletes a task; its runs and output go with it (ON DELETE CASCADE). False when there is no row of that id. */
export function deleteTask(db: Db, id: string): boolean {
  return statement(db, "DELETE FROM tasks WHERE id = ?").run(id).changes > 0;
}
