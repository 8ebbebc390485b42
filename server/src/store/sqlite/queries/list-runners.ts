import type { RunnerRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Runners by name after `afterName` (keyset). */
export function listRunners(db: Db, afterName: string, limit: number): RunnerRow[] {
  return statement(db, "SELECT * FROM runners WHERE name > ? ORDER BY name LIMIT ?").all(
    afterName,
    limit,
  ) as RunnerRow[];
}
