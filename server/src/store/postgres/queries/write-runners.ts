import { RunnerInfo } from "@supervisor/sdk";
import type { RunnerWrite } from "../../backend.js";
import { runnerHolder } from "../../runner-holder.js";
import { type Queryable, rows } from "../statement.js";

const UPSERT_RUNNERS = `INSERT INTO runners (id, name, runner, server_id)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[])
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, runner = excluded.runner, server_id = excluded.server_id`;

/** Stores runners by id (the last of a batch wins); `serverId` is the writing server's (runner-holder.ts). */
export function upsertRunners(db: Queryable, writes: readonly RunnerWrite[], serverId: string): Promise<unknown> {
  const last = [...new Map(writes.map((write) => [write.runner.id, write])).values()];
  return rows(db, UPSERT_RUNNERS, [
    last.map((write) => write.runner.id),
    last.map((write) => write.runner.name),
    last.map((write) => Buffer.from(RunnerInfo.encode(write.runner).finish())),
    last.map((write) => runnerHolder(write, serverId)),
  ]);
}

/** Forgets runners' rows; their runs keep their id and name. */
export function deleteRunners(db: Queryable, ids: readonly string[]): Promise<unknown> {
  return rows(db, "DELETE FROM runners WHERE id = ANY($1::text[])", [ids]);
}
