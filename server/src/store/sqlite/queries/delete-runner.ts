import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Forgets a runner's row; its runs keep its id and name. True if there was one. */
export function deleteRunner(db: Db, id: string): boolean {
  return statement(db, "DELETE FROM runners WHERE id = ?").run(id).changes > 0;
}
