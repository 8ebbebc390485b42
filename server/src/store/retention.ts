import type { Timer, Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { StorageBackend } from "./backend.js";
import type { GroupCommit } from "./group-commit.js";
import { compactJournalWrite, expireKeysWrite, expireTasksWrite } from "./writes.js";

export interface RetentionSettings {
  retentionMs: number;
  idempotencyTtlMs: number;
  journalMinRevisions: number;
  journalMinAgeMs: number;
}

export interface SweepResult {
  tasksDeleted: number;
  /** The journal was compacted through this revision (0 = not at all). */
  journalCompactedThrough: number;
}

/** Small batches, each its own transaction, so a big sweep never stalls submits for long. */
const BATCH = 500;

/**
 * One retention pass: terminal tasks past `retention` go with their runs and
 * output (a DELETED event each), idempotency keys past their TTL go, and the
 * journal is compacted to what watchers may still ask for.
 */
export async function sweep(
  backend: StorageBackend,
  commits: Pick<GroupCommit, "run">,
  clock: Clock,
  settings: RetentionSettings,
): Promise<SweepResult> {
  const result: SweepResult = { tasksDeleted: 0, journalCompactedThrough: 0 };
  for (;;) {
    const cutoffMs = clock.now() - settings.retentionMs;
    const candidates = await backend.expiredTasks(cutoffMs, BATCH);
    if (candidates.length > 0) result.tasksDeleted += await commits.run(expireTasksWrite(candidates, cutoffMs));
    if (candidates.length < BATCH) break;
  }
  await commits.run(expireKeysWrite(clock.now() - settings.idempotencyTtlMs, BATCH * 100));
  for (;;) {
    const bound = await backend.journalCompactionBound(
      settings.journalMinRevisions,
      clock.now() - settings.journalMinAgeMs,
      BATCH * 10,
    );
    if (bound <= result.journalCompactedThrough) break;
    await commits.run(compactJournalWrite(bound));
    result.journalCompactedThrough = bound;
  }
  return result;
}

/** Runs `sweep` every `intervalMs` until stopped; failures are logged and retried next time. */
export function startSweeper(
  run: () => Promise<unknown>,
  intervalMs: number,
  timers: Timers,
  log: (message: string, error?: unknown) => void,
): () => Promise<void> {
  let timer: Timer | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = timers.after(intervalMs, () => {
      running = run()
        .catch((error) => log("retention sweep failed", error))
        .finally(schedule);
    });
  };
  schedule();
  return async () => {
    stopped = true;
    timer?.cancel();
    await running;
  };
}
