import { Run } from "@supervisor/sdk";

/** A runs row as stored. */
export interface RunRow {
  id: string;
  task_id: string;
  attempt: number;
  runner_id: string;
  phase: number;
  run: Buffer;
}

export function toRunRow(run: Run): RunRow {
  return {
    id: run.id,
    task_id: run.taskId,
    attempt: run.attempt,
    runner_id: run.runnerId,
    phase: run.phase,
    run: Buffer.from(Run.encode(run).finish()),
  };
}

export const decodeRun = (bytes: Uint8Array): Run => Run.decode(bytes);
