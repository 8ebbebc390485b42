import type { RunnerRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

export function getRunnerByName(db: Db, name: string): RunnerRow | undefined {
  return statement(db, "SELECT * FROM runners WHERE name = ?").get(name) as RunnerRow | undefined;
}
