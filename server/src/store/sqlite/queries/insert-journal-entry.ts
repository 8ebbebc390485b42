import type { Db } from "../open.js";
import { statement } from "../statement.js";
import type { JournalRow } from "./journal.js";

const SQL = `INSERT INTO journal (revision, task_id, type, time, prev_phase, prev_runner_id, task)
  VALUES (@revision, @task_id, @type, @time, @prev_phase, @prev_runner_id, @task)`;

export function insertJournalEntry(db: Db, row: JournalRow): void {
  statement(db, SQL).run(row);
}
