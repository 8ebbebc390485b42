import { Run } from "@supervisor/sdk";

/** A runs row as stored. */
export interface RunRow {
  id: string;
  task_id: string;
  attempt: number;
  runner_id: string;
  phase: number;
  output_head_seq: number;
  output_dropped: number;
  run: Buffer;
}

export function toRunRow(run: Run, output: { headSeq: number; dropped: number }): RunRow {
  return {
    id: run.id,
    task_id: run.taskId,
    attempt: run.attempt,
    runner_id: run.runnerId,
    phase: run.phase,
    output_head_seq: output.headSeq,
    output_dropped: output.dropped,
    run: Buffer.from(Run.encode(run).finish()),
  };
}

export const decodeRun = (bytes: Uint8Array): Run => Run.decode(bytes);
