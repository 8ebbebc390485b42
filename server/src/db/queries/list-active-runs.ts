import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { RunRow } from "./run-row.js";

/** Every ASSIGNED or RUNNING run (phase 1, 2), to rebuild in-memory state at start-up. */
export function listActiveRuns(db: Db): RunRow[] {
  return statement(db, "SELECT * FROM runs WHERE phase IN (1, 2)").all() as RunRow[];
}
