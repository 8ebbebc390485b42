import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { TaskRow } from "./task-row.js";

const SQL = `INSERT INTO tasks
    (id, slot, slot_state, phase, runner_id, priority, ready_time, labels, finish_time, revision, task)
  VALUES
    (@id, @slot, @slot_state, @phase, @runner_id, @priority, @ready_time, @labels, @finish_time, @revision, @task)`;

export function insertTask(db: Db, row: TaskRow): void {
  statement(db, SQL).run(row);
}
