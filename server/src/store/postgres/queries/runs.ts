import { RunPhase } from "@supervisor/sdk";
import type { RunRow } from "../rows.js";
import { type Queryable, row, rows } from "../statement.js";

export const getRun = (db: Queryable, id: string) => row<RunRow>(db, "SELECT * FROM runs WHERE id = $1", [id]);

/** The run of `attempt` of a task; attempt 0 = the latest. */
export const getRunByAttempt = (db: Queryable, taskId: string, attempt: number) =>
  attempt === 0
    ? row<RunRow>(db, "SELECT * FROM runs WHERE task_id = $1 ORDER BY attempt DESC LIMIT 1", [taskId])
    : row<RunRow>(db, "SELECT * FROM runs WHERE task_id = $1 AND attempt = $2", [taskId, attempt]);

/** A task's runs after `afterAttempt`, oldest first. */
export const listTaskRuns = (db: Queryable, taskId: string, afterAttempt: number, limit: number) =>
  rows<RunRow>(db, "SELECT * FROM runs WHERE task_id = $1 AND attempt > $2 ORDER BY attempt LIMIT $3", [
    taskId,
    afterAttempt,
    limit,
  ]);

/** Every ASSIGNED or RUNNING run, to rebuild in-memory state at start-up. */
export const activeRuns = (db: Queryable) =>
  // Literal values, not parameters: the query must match the partial index runs_active.
  rows<RunRow>(db, `SELECT * FROM runs WHERE phase IN (${RunPhase.RUN_PHASE_ASSIGNED}, ${RunPhase.RUN_PHASE_RUNNING})`);
