import { RunnerInfo as Runner } from "@supervisor/sdk";
import type { Db } from "../open.js";
import { statement } from "../statement.js";

export interface RunnerRow {
  id: string;
  name: string;
  runner: Buffer;
}

export const decodeRunner = (bytes: Uint8Array): Runner => Runner.decode(bytes);

export function upsertRunner(db: Db, runner: Runner): void {
  statement(
    db,
    `INSERT INTO runners (id, name, runner) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, runner = excluded.runner`,
  ).run(runner.id, runner.name, Buffer.from(Runner.encode(runner).finish()));
}
