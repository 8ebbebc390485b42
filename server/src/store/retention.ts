import { compactJournal } from "../db/queries/compact-journal.js";
import { findExpiredTasks } from "../db/queries/expired-tasks.js";
import { deleteExpiredIdempotencyKeys } from "../db/queries/idempotency-keys.js";
import { decodeTask } from "../db/queries/task-row.js";
import type { GroupCommit } from "./group-commit.js";
import type { TaskStore } from "./task-store.js";

export interface RetentionSettings {
  retentionMs: number;
  idempotencyTtlMs: number;
  journalMinRevisions: number;
  journalMinAgeMs: number;
}

export interface SweepResult {
  tasksDeleted: number;
  keysDeleted: number;
  journalRowsDeleted: number;
}

/** Small batches, each its own transaction, so a big sweep never stalls submits for long. */
const BATCH = 500;

/**
 * One retention pass: terminal tasks past `retention` go with their runs and
 * output (a DELETED event each), idempotency keys past their TTL go, and the
 * journal is compacted to what watchers may still ask for.
 */
export async function sweep(store: TaskStore, commits: GroupCommit, settings: RetentionSettings): Promise<SweepResult> {
  const result: SweepResult = { tasksDeleted: 0, keysDeleted: 0, journalRowsDeleted: 0 };
  for (;;) {
    const deleted = await commits.run(() => {
      const rows = findExpiredTasks(store.db, store.clock.now() - settings.retentionMs, BATCH);
      for (const row of rows) store.remove(decodeTask(row.task));
      return rows.length;
    });
    result.tasksDeleted += deleted;
    if (deleted < BATCH) break;
  }
  for (;;) {
    const deleted = await commits.run(() =>
      deleteExpiredIdempotencyKeys(store.db, store.clock.now() - settings.idempotencyTtlMs, BATCH * 10),
    );
    result.keysDeleted += deleted;
    if (deleted < BATCH * 10) break;
  }
  for (;;) {
    const deleted = await commits.run(() =>
      compactJournal(
        store.db,
        store.head,
        settings.journalMinRevisions,
        store.clock.now() - settings.journalMinAgeMs,
        BATCH * 10,
      ),
    );
    result.journalRowsDeleted += deleted;
    if (deleted < BATCH * 10) break;
  }
  return result;
}

/** Runs `sweep` every `intervalMs` until stopped; failures are logged and retried next time. */
export function startSweeper(
  run: () => Promise<unknown>,
  intervalMs: number,
  log: (message: string, error?: unknown) => void,
): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run()
        .catch((error) => log("retention sweep failed", error))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
