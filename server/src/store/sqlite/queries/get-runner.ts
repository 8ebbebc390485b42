import type { RunnerRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

export function getRunner(db: Db, id: string): RunnerRow | undefined {
  return statement(db, "SELECT * FROM runners WHERE id = ?").get(id) as RunnerRow | undefined;
}
