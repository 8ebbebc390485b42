import { Run } from "@supervisor/sdk";
import { encodeMessage } from "../../../core/encode.js";
import type { WriteValue } from "../write-ops.js";

export const UPSERT_RUN = `INSERT INTO runs (id, task_id, attempt, runner_id, phase, run)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, run = excluded.run`;

/** The row of a run: its encoding as it comes (its own buffer, cheap to post), not a pooled Buffer copy. */
export const runValues = (run: Run): WriteValue[] => [
  run.id,
  run.taskId,
  run.attempt,
  run.runnerId,
  run.phase,
  encodeMessage(Run, run),
];
