import { RunPhase } from "@supervisor/sdk";
import type { RunRow } from "../../rows.js";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** Every ASSIGNED or RUNNING run (phase 1, 2), to rebuild in-memory state at start-up. */
export function listActiveRuns(db: Db): RunRow[] {
  // Literal values, not parameters: the query must match the partial index runs_active.
  const active = `${RunPhase.RUN_PHASE_ASSIGNED}, ${RunPhase.RUN_PHASE_RUNNING}`;
  return statement(db, `SELECT * FROM runs WHERE phase IN (${active})`).all() as RunRow[];
}
