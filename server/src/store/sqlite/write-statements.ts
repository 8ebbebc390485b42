import { ADVANCE_SCHEDULE } from "./queries/advance-schedule.js";
import { COMPACT_JOURNAL, RAISE_COMPACTED_THROUGH } from "./queries/compact-journal.js";
import { DELETE_OUTPUT_CHUNK } from "./queries/delete-output-chunk.js";
import { DELETE_RUNNER } from "./queries/delete-runner.js";
import { DELETE_SCHEDULE } from "./queries/delete-schedule.js";
import { DELETE_TASK } from "./queries/delete-task.js";
import { DELETE_DISPATCH_PAUSE, INSERT_DISPATCH_PAUSE } from "./queries/dispatch-pauses.js";
import { DELETE_EXPIRED_IDEMPOTENCY_KEYS, PUT_IDEMPOTENCY_KEY } from "./queries/idempotency-keys.js";
import { INSERT_JOURNAL_ENTRY } from "./queries/insert-journal-entry.js";
import { INSERT_OUTPUT_CHUNK } from "./queries/insert-output-chunk.js";
import { INSERT_SCHEDULE } from "./queries/insert-schedule.js";
import { INSERT_TASK } from "./queries/insert-task.js";
import { PRUNE_RUNS } from "./queries/prune-runs.js";
import { EXPIRE_RATE_KEYS, PAUSE_RATE_KEY, PUT_RATE_KEY_TAT } from "./queries/rate-keys.js";
import { RECORD_SCHEDULE_TRIGGER } from "./queries/record-schedule-trigger.js";
import { UPSERT_RUNNER } from "./queries/runner-rows.js";
import { UPDATE_SCHEDULE } from "./queries/update-schedule.js";
import { UPDATE_TASK, UPDATE_TASK_ID } from "./queries/update-task.js";
import { UPSERT_RUN } from "./queries/upsert-run.js";
import type { WriteStatement } from "./write-ops.js";

// A change of a task that is not stored would put a journal entry with no row behind it.
const NOT_STORED = "task %s is not stored: the batch was decided on stale state";

const STATEMENTS = {
  insertTask: { sql: INSERT_TASK },
  updateTask: { sql: UPDATE_TASK, mustChange: { key: UPDATE_TASK_ID, message: NOT_STORED } },
  deleteTask: { sql: DELETE_TASK, mustChange: { key: 0, message: NOT_STORED } },
  insertJournalEntry: { sql: INSERT_JOURNAL_ENTRY },
  upsertRun: { sql: UPSERT_RUN },
  pruneRuns: { sql: PRUNE_RUNS },
  putIdempotencyKey: { sql: PUT_IDEMPOTENCY_KEY },
  insertOutputChunk: { sql: INSERT_OUTPUT_CHUNK },
  deleteOutputChunk: { sql: DELETE_OUTPUT_CHUNK },
  upsertRunner: { sql: UPSERT_RUNNER },
  deleteRunner: { sql: DELETE_RUNNER },
  putRateKeyTat: { sql: PUT_RATE_KEY_TAT },
  pauseRateKey: { sql: PAUSE_RATE_KEY },
  expireRateKeys: { sql: EXPIRE_RATE_KEYS },
  deleteExpiredIdempotencyKeys: { sql: DELETE_EXPIRED_IDEMPOTENCY_KEYS },
  compactJournal: { sql: COMPACT_JOURNAL },
  raiseCompactedThrough: { sql: RAISE_COMPACTED_THROUGH },
  // Schedules (schedules.ts): each alone in its batch; whether it applied is its count of changed rows.
  insertSchedule: { sql: INSERT_SCHEDULE },
  updateSchedule: { sql: UPDATE_SCHEDULE },
  deleteSchedule: { sql: DELETE_SCHEDULE },
  advanceSchedule: { sql: ADVANCE_SCHEDULE },
  recordScheduleTrigger: { sql: RECORD_SCHEDULE_TRIGGER },
  // Dispatch pauses (dispatch-pauses.ts): each alone in its batch, as the schedules' statements.
  insertDispatchPause: { sql: INSERT_DISPATCH_PAUSE },
  deleteDispatchPause: { sql: DELETE_DISPATCH_PAUSE },
} satisfies Record<string, WriteStatement>;

/** Every statement the writer runs; a batch names them by index (W.insertTask, …). */
export const WRITE_STATEMENTS: readonly WriteStatement[] = Object.values(STATEMENTS);

export const W = Object.fromEntries(Object.keys(STATEMENTS).map((name, index) => [name, index])) as Record<
  keyof typeof STATEMENTS,
  number
>;
