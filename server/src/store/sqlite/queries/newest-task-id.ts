import type { Db } from "../open.js";
import { statement } from "../statement.js";

/**
 * The largest task id ever stored (UUIDv7: the newest), from the tasks or
 * the journal, so the id generator never goes backwards after a restart.
 */
export function newestTaskId(db: Db): string | undefined {
  const sql = "SELECT max(id) AS id FROM (SELECT max(id) AS id FROM tasks UNION ALL SELECT max(task_id) FROM journal)";
  return (statement(db, sql).get() as { id: string | null }).id ?? undefined;
}
