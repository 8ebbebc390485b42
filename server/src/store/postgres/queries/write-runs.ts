import { Run } from "@supervisor/sdk";
import { type Queryable, rows } from "../statement.js";

const UPSERT_RUNS = `INSERT INTO runs (id, task_id, attempt, runner_id, phase, run)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[], $6::bytea[])
  ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, run = excluded.run`;

const PRUNE_RUNS = `DELETE FROM runs r
  USING unnest($1::text[], $2::int[]) AS p(task_id, through_attempt)
  WHERE r.task_id = p.task_id AND r.attempt <= p.through_attempt`;

/** Stores runs, new or changed (one row per id: the last of a batch wins, as applied in order). */
export function upsertRuns(db: Queryable, runs: readonly Run[]): Promise<unknown> {
  const last = [...new Map(runs.map((run) => [run.id, run])).values()];
  return rows(db, UPSERT_RUNS, [
    last.map((run) => run.id),
    last.map((run) => run.taskId),
    last.map((run) => run.attempt),
    last.map((run) => run.runnerId),
    last.map((run) => run.phase),
    last.map((run) => Buffer.from(Run.encode(run).finish())),
  ]);
}

/** Deletes each task's runs up to an attempt (their output goes with them). */
export function pruneRuns(
  db: Queryable,
  pruned: readonly { taskId: string; throughAttempt: number }[],
): Promise<unknown> {
  return rows(db, PRUNE_RUNS, [pruned.map((p) => p.taskId), pruned.map((p) => p.throughAttempt)]);
}
