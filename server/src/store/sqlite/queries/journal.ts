/** A journal row: one change of one task. */
export interface JournalRow {
  revision: number;
  task_id: string;
  type: number;
  time: number;
  prev_phase: number | null;
  prev_runner_id: string | null;
  task: Buffer;
}
