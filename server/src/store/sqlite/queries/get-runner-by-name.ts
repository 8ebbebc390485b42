import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { RunnerRow } from "./runner-rows.js";

export function getRunnerByName(db: Db, name: string): RunnerRow | undefined {
  return statement(db, "SELECT * FROM runners WHERE name = ?").get(name) as RunnerRow | undefined;
}
