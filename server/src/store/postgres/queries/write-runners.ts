import { type RunnerInfo as Runner, RunnerInfo } from "@supervisor/sdk";
import { type Queryable, rows } from "../statement.js";

const UPSERT_RUNNERS = `INSERT INTO runners (id, name, runner)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, runner = excluded.runner`;

/** Stores runners by id (the last of a batch wins). */
export function upsertRunners(db: Queryable, runners: readonly Runner[]): Promise<unknown> {
  const last = [...new Map(runners.map((runner) => [runner.id, runner])).values()];
  return rows(db, UPSERT_RUNNERS, [
    last.map((runner) => runner.id),
    last.map((runner) => runner.name),
    last.map((runner) => Buffer.from(RunnerInfo.encode(runner).finish())),
  ]);
}

/** Forgets runners' rows; their runs keep their id and name. */
export function deleteRunners(db: Queryable, ids: readonly string[]): Promise<unknown> {
  return rows(db, "DELETE FROM runners WHERE id = ANY($1::text[])", [ids]);
}
