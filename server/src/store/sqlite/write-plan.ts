import { type Run, Task } from "@supervisor/sdk";
import type { TaskWrite, WriteSet } from "../backend.js";
import { runnerHolder } from "../runner-holder.js";
import { exactBytes } from "./exact-bytes.js";
import { idempotencyKeyValues } from "./queries/idempotency-keys.js";
import { journalEntryValues } from "./queries/insert-journal-entry.js";
import { outputChunkValues } from "./queries/insert-output-chunk.js";
import { runnerValues } from "./queries/runner-rows.js";
import { runValues } from "./queries/upsert-run.js";
import { taskRowOps } from "./task-row-ops.js";
import type { WriteOp } from "./write-ops.js";
import { W } from "./write-statements.js";

/**
 * A transaction's writes as the statements the writer runs, in order — all the work of turning records
 * into rows (encoding, JSON, checks) is done here, on the main thread; the writer only binds and runs.
 * Throws when the revisions do not follow on from `firstRevision` (the batch was decided on stale state).
 * `serverId` is this server's, for the runners it holds.
 */
export function planWrites(writes: WriteSet, firstRevision: number, timeMs: number, serverId: string): WriteOp[] {
  checkRevisions(writes.tasks, firstRevision);
  const encoded = writes.tasks.map(({ change }) => exactBytes(change.encoded ?? Task.encode(change.task).finish()));
  const ops = taskRowOps(writes.tasks, encoded);
  writes.tasks.forEach(({ change }, index) => {
    ops.push([W.insertJournalEntry, journalEntryValues(change, timeMs, encoded[index]!)]);
  });
  for (const run of lastOfEach(writes.runs)) ops.push([W.upsertRun, runValues(run)]);
  // After the runs: a run written and pruned in one batch stays pruned.
  for (const { taskId, throughAttempt } of writes.prunedRuns) ops.push([W.pruneRuns, [taskId, throughAttempt]]);
  for (const key of writes.idempotencyKeys) ops.push([W.putIdempotencyKey, idempotencyKeyValues(key)]);
  for (const chunk of writes.outputChunks) ops.push([W.insertOutputChunk, outputChunkValues(chunk)]);
  for (const { runId, seq } of writes.deletedChunks) ops.push([W.deleteOutputChunk, [runId, seq]]);
  for (const write of writes.runners) {
    ops.push([W.upsertRunner, runnerValues(write.runner, runnerHolder(write, serverId))]);
  }
  for (const id of writes.deletedRunners) ops.push([W.deleteRunner, [id]]);
  for (const { key, tatMs } of writes.rateKeyTats) ops.push([W.putRateKeyTat, [key, tatMs]]);
  for (const { key, untilMs, byRunId } of writes.keyPauses) ops.push([W.pauseRateKey, [key, untilMs, byRunId]]);
  const idleBefore = writes.expireRateKeysBeforeMs;
  if (idleBefore !== undefined) ops.push([W.expireRateKeys, [idleBefore, idleBefore]]);
  if (writes.expireIdempotencyKeys) {
    const { beforeMs, limit } = writes.expireIdempotencyKeys;
    ops.push([W.deleteExpiredIdempotencyKeys, [beforeMs, limit]]);
  }
  const through = writes.compactJournalThrough;
  if (through !== undefined) ops.push([W.compactJournal, [through, through]], [W.raiseCompactedThrough, [through]]);
  return ops;
}

function checkRevisions(tasks: readonly TaskWrite[], firstRevision: number): void {
  let expected = firstRevision;
  for (const { change } of tasks) {
    if (change.revision !== expected) {
      throw new Error(
        `revision ${change.revision} out of order (expected ${expected}): the batch was decided on stale state`,
      );
    }
    expected++;
  }
}

/** Each run once, in its last state (an upsert of the same run twice in one batch keeps the second). */
function lastOfEach(runs: readonly Run[]): Iterable<Run> {
  if (runs.length < 2) return runs;
  const last = new Map<string, Run>();
  for (const run of runs) last.set(run.id, run);
  return last.values();
}
