import type { RunnerRow } from "../rows.js";
import { type Queryable, row, rows } from "../statement.js";

export const getRunner = (db: Queryable, id: string) => row<RunnerRow>(db, "SELECT * FROM runners WHERE id = $1", [id]);

export const getRunnerByName = (db: Queryable, name: string) =>
  row<RunnerRow>(db, "SELECT * FROM runners WHERE name = $1", [name]);

/** Runners by name after `afterName` (keyset). */
export const listRunners = (db: Queryable, afterName: string, limit: number) =>
  rows<RunnerRow>(db, "SELECT * FROM runners WHERE name > $1 ORDER BY name LIMIT $2", [afterName, limit]);
