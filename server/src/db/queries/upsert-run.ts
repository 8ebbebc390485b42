import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { RunRow } from "./run-row.js";

const SQL = `INSERT INTO runs (id, task_id, attempt, runner_id, phase, output_head_seq, output_dropped, run)
  VALUES (@id, @task_id, @attempt, @runner_id, @phase, @output_head_seq, @output_dropped, @run)
  ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, output_head_seq = excluded.output_head_seq,
    output_dropped = excluded.output_dropped, run = excluded.run`;

export function upsertRun(db: Db, row: RunRow): void {
  statement(db, SQL).run(row);
}
