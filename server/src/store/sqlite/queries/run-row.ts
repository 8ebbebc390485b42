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

export const decodeRun = (bytes: Uint8Array): Run => Run.decode(bytes);
