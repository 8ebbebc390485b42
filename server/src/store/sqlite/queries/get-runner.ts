import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { RunnerRow } from "./runner-rows.js";

export function getRunner(db: Db, id: string): RunnerRow | undefined {
  return statement(db, "SELECT * FROM runners WHERE id = ?").get(id) as RunnerRow | undefined;
}
