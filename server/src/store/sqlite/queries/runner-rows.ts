import { RunnerInfo as Runner } from "@supervisor/sdk";
import type { WriteValue } from "../write-ops.js";

export const UPSERT_RUNNER = `INSERT INTO runners (id, name, runner, server_id) VALUES (?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, runner = excluded.runner, server_id = excluded.server_id`;

export const runnerValues = (runner: Runner, serverId: string | null): WriteValue[] => [
  runner.id,
  runner.name,
  Runner.encode(runner).finish(),
  serverId,
];
