import type { Db } from "../open.js";
import { statement } from "../statement.js";

export function deleteRunner(db: Db, id: string): void {
  statement(db, "DELETE FROM runners WHERE id = ?").run(id);
}
