import { RunnerInfo as Runner } from "@supervisor/sdk";
import type { WriteValue } from "../write-ops.js";

export const UPSERT_RUNNER = `INSERT INTO runners (id, name, runner) VALUES (?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, runner = excluded.runner`;

export const runnerValues = (runner: Runner): WriteValue[] => [runner.id, runner.name, Runner.encode(runner).finish()];
