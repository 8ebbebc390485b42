import { RunnerInfo as Runner } from "@supervisor/sdk";
import type { WriteValue } from "../write-ops.js";

export interface RunnerRow {
  id: string;
  name: string;
  runner: Buffer;
  /** The server holding its stream; NULL when none. */
  server_id: string | null;
}

export const decodeRunner = (bytes: Uint8Array): Runner => Runner.decode(bytes);

export const UPSERT_RUNNER = `INSERT INTO runners (id, name, runner, server_id) VALUES (?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, runner = excluded.runner, server_id = excluded.server_id`;

export const runnerValues = (runner: Runner, serverId: string | null): WriteValue[] => [
  runner.id,
  runner.name,
  Runner.encode(runner).finish(),
  serverId,
];
