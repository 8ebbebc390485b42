import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { RunRow } from "./run-row.js";

const SQL = `INSERT INTO runs (id, task_id, attempt, runner_id, phase, run)
  VALUES (@id, @task_id, @attempt, @runner_id, @phase, @run)
  ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, run = excluded.run`;

export function upsertRun(db: Db, row: RunRow): void {
  statement(db, SQL).run(row);
}
