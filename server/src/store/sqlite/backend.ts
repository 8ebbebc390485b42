import { EventType, type Run, type RunnerInfo as Runner, Task } from "@supervisor/sdk";
import type { Clock } from "../../core/clock.js";
import { PageBudget, pagePrefix } from "../../core/page-budget.js";
import type {
  IdempotencyKey,
  ListTasksParams,
  OutputChunkRecord,
  OutputExtent,
  ReadKeys,
  Snapshot,
  StorageBackend,
  StoredRun,
  StoredRunner,
  StoredTask,
  TaskChange,
  TaskPage,
  TransactionPlan,
  WriteSet,
  WriteTransaction,
} from "../backend.js";
import { guarded } from "./errors.js";
import { type DatabaseLock, lockDatabase } from "./lock.js";
import { type Db, openDatabase } from "./open.js";
import { compactJournal } from "./queries/compact-journal.js";
import { deleteOutputChunk } from "./queries/delete-output-chunk.js";
import { deleteRunner } from "./queries/delete-runner.js";
import { deleteTask } from "./queries/delete-task.js";
import { findExpiredTasks } from "./queries/expired-tasks.js";
import { getRun } from "./queries/get-run.js";
import { getRunByAttempt } from "./queries/get-run-by-attempt.js";
import { getRunner } from "./queries/get-runner.js";
import { getRunnerByName } from "./queries/get-runner-by-name.js";
import { getTask } from "./queries/get-task.js";
import { deleteExpiredIdempotencyKeys, type IdempotencyKeyRow, putIdempotencyKey } from "./queries/idempotency-keys.js";
import { insertJournalEntry } from "./queries/insert-journal-entry.js";
import { insertOutputChunk, type OutputChunkRow } from "./queries/insert-output-chunk.js";
import { insertTask } from "./queries/insert-task.js";
import type { JournalRow } from "./queries/journal.js";
import { journalCompactionBound } from "./queries/journal-bound.js";
import { getMeta, journalHead } from "./queries/journal-head.js";
import { listActiveRuns } from "./queries/list-active-runs.js";
import { listDispatchableTasks } from "./queries/list-dispatchable-tasks.js";
import { listRunners } from "./queries/list-runners.js";
import { listTaskRuns } from "./queries/list-task-runs.js";
import { listTasks } from "./queries/list-tasks.js";
import { newestTaskId } from "./queries/newest-task-id.js";
import { outputEndThrough, outputExtents } from "./queries/output-extents.js";
import { pruneRuns } from "./queries/prune-runs.js";
import { readJournal } from "./queries/read-journal.js";
import { readOutputChunks } from "./queries/read-output-chunks.js";
import { decodeRun, type RunRow, toRunRow } from "./queries/run-row.js";
import { decodeRunner, type RunnerRow, upsertRunner } from "./queries/runner-rows.js";
import {
  idempotencyKeysByIds,
  runnersByNames,
  runsByIds,
  slotOwners,
  slotQueueCount,
  slotQueueOldest,
  tasksByIds,
} from "./queries/snapshot-reads.js";
import { decodeTask, slotStateOf, type TaskRow, toTaskRow } from "./queries/task-row.js";
import { updateTask } from "./queries/update-task.js";
import { upsertRun } from "./queries/upsert-run.js";

export interface SqliteOptions {
  synchronous: "FULL" | "NORMAL";
}

const DEFAULT_QUEUE_DEPTH = 2;

const storedTask = (row: TaskRow): StoredTask => ({
  task: decodeTask(row.task),
  slotState: slotStateOf(row.slot_state),
  encoded: row.task,
});

const idempotencyKey = (row: IdempotencyKeyRow): IdempotencyKey => ({
  requestId: row.request_id,
  taskId: row.task_id,
  specHash: row.spec_hash,
  createTimeMs: row.create_time,
});

/**
 * The embedded backend: one SQLite file (WAL, synchronous FULL by default)
 * owned by this process alone (`<db>.lock`). better-sqlite3 is synchronous,
 * so a transaction's apply-and-commit runs in one step of the event loop; the
 * revision counter lives in memory because nothing else can write.
 */
export class SqliteBackend implements StorageBackend {
  readonly description: string;
  private committedHead: number;
  private readonly listeners = new Set<(changes: readonly TaskChange[]) => void>();
  private writing: Promise<unknown> = Promise.resolve();
  private readonly apply: (writes: WriteSet, timeMs: number) => void;
  private closed = false;

  private constructor(
    private readonly db: Db,
    private readonly lock: DatabaseLock | undefined,
    readonly path: string,
    private readonly clock: Clock,
  ) {
    this.description = `sqlite ${path}`;
    this.committedHead = journalHead(db);
    // One transaction function, made once (better-sqlite3 wraps BEGIN/COMMIT/ROLLBACK around it).
    this.apply = db.transaction((writes: WriteSet, timeMs: number) => this.write(writes, timeMs));
  }

  /** Takes the file's lock, checks and migrates it. Throws DatabaseInUseError / DatabaseOpenError. */
  static open(path: string, options: SqliteOptions, clock: Clock): SqliteBackend {
    const lock = path === ":memory:" ? undefined : lockDatabase(path);
    try {
      return new SqliteBackend(openDatabase(path, options), lock, path, clock);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  // ---- writes ----

  transact<R>(work: (tx: WriteTransaction) => Promise<TransactionPlan<R>>): Promise<R> {
    // One at a time: a transaction's reads must see every commit before it.
    const run = this.writing.then(async () => {
      const tx: WriteTransaction = {
        firstRevision: this.committedHead + 1,
        read: async (keys) => guarded(() => this.readKeys(keys)),
      };
      const plan = await work(tx);
      guarded(() => this.apply(plan.writes, this.clock.now()));
      const changes = plan.writes.tasks.map((write) => write.change);
      if (changes.length > 0) {
        this.committedHead = changes[changes.length - 1]!.revision;
        for (const listener of this.listeners) listener(changes);
      }
      return plan.result;
    });
    this.writing = run.catch(() => {});
    return run;
  }

  private write(writes: WriteSet, timeMs: number): void {
    const db = this.db;
    let expected = this.committedHead + 1;
    for (const { change, slotState } of writes.tasks) {
      if (change.revision !== expected) {
        throw new Error(
          `revision ${change.revision} out of order (expected ${expected}): the batch was decided on stale state`,
        );
      }
      expected++;
      const encoded = change.encoded ?? Task.encode(change.task).finish();
      if (change.type === EventType.EVENT_TYPE_ADDED) insertTask(db, toTaskRow(change.task, slotState, encoded));
      else {
        const found =
          change.type === EventType.EVENT_TYPE_MODIFIED
            ? updateTask(db, toTaskRow(change.task, slotState, encoded))
            : deleteTask(db, change.task.id);
        // A change of a task that is not stored would put a journal entry with no row behind it.
        if (!found) throw new Error(`task ${change.task.id} is not stored: the batch was decided on stale state`);
      }
      insertJournalEntry(db, {
        revision: change.revision,
        task_id: change.task.id,
        type: change.type,
        time: timeMs,
        prev_phase: change.previous?.phase ?? null,
        prev_runner_id: change.previous ? change.previous.runnerId : null,
        task: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength),
      });
    }
    for (const run of writes.runs) upsertRun(db, toRunRow(run));
    // After the runs: a run written and pruned in one batch stays pruned.
    for (const { taskId, throughAttempt } of writes.prunedRuns) pruneRuns(db, taskId, throughAttempt);
    for (const key of writes.idempotencyKeys) {
      putIdempotencyKey(db, {
        request_id: key.requestId,
        task_id: key.taskId,
        spec_hash: key.specHash,
        create_time: key.createTimeMs,
      });
    }
    for (const chunk of writes.outputChunks) insertOutputChunk(db, chunkRow(chunk));
    for (const { runId, seq } of writes.deletedChunks) deleteOutputChunk(db, runId, seq);
    for (const runner of writes.runners) upsertRunner(db, runner);
    for (const id of writes.deletedRunners) deleteRunner(db, id);
    if (writes.expireIdempotencyKeys) {
      deleteExpiredIdempotencyKeys(db, writes.expireIdempotencyKeys.beforeMs, writes.expireIdempotencyKeys.limit);
    }
    if (writes.compactJournalThrough !== undefined && writes.compactJournalThrough > getMeta(db, "compacted_through")) {
      compactJournal(db, writes.compactJournalThrough);
    }
  }

  private readKeys(keys: ReadKeys): Snapshot {
    const db = this.db;
    const snapshot: Snapshot = {
      tasks: new Map(),
      slotOwners: new Map(),
      slotQueues: new Map(),
      idempotencyKeys: new Map(),
      runs: new Map(),
      runnerNames: new Map(),
    };
    const ids = unique(keys.tasks);
    if (ids.length > 0) {
      for (const id of ids) snapshot.tasks.set(id, null);
      for (const row of tasksByIds(db, ids)) snapshot.tasks.set(row.id, storedTask(row));
    }
    const owned = unique(keys.slotOwners);
    if (owned.length > 0) {
      for (const slot of owned) snapshot.slotOwners.set(slot, null);
      for (const row of slotOwners(db, owned)) snapshot.slotOwners.set(row.slot!, storedTask(row));
    }
    const depth = keys.slotQueueDepth ?? DEFAULT_QUEUE_DEPTH;
    for (const slot of unique(keys.slotQueues)) {
      const count = slotQueueCount(db, slot);
      snapshot.slotQueues.set(slot, {
        count,
        oldest: count > 0 ? slotQueueOldest(db, slot, depth).map(storedTask) : [],
      });
    }
    const requestIds = unique(keys.idempotencyKeys);
    if (requestIds.length > 0) {
      for (const id of requestIds) snapshot.idempotencyKeys.set(id, null);
      for (const row of idempotencyKeysByIds(db, requestIds))
        snapshot.idempotencyKeys.set(row.request_id, idempotencyKey(row));
    }
    const runIds = unique(keys.runs);
    if (runIds.length > 0) {
      for (const id of runIds) snapshot.runs.set(id, null);
      for (const row of runsByIds(db, runIds)) snapshot.runs.set(row.id, decodeRun(row.run));
    }
    const names = unique(keys.runnerNames);
    if (names.length > 0) {
      for (const name of names) snapshot.runnerNames.set(name, null);
      for (const row of runnersByNames(db, names)) snapshot.runnerNames.set(row.name, decodeRunner(row.runner));
    }
    return snapshot;
  }

  onCommit(listener: (changes: readonly TaskChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- reads ----

  async head(): Promise<number> {
    return this.committedHead;
  }

  async compactedThrough(): Promise<number> {
    return guarded(() => {
      return getMeta(this.db, "compacted_through");
    });
  }

  async getTask(id: string): Promise<StoredTask | undefined> {
    return guarded(() => {
      const row = getTask(this.db, id);
      return row && storedTask(row);
    });
  }

  async listTasks(params: ListTasksParams): Promise<TaskPage> {
    return guarded(() => {
      // Synchronous from here to the return: the page and its revision are one snapshot.
      const revision = this.committedHead;
      return { ...listPage(this.db, params), revision };
    });
  }

  async readJournal(afterRevision: number, limit: number): Promise<TaskChange[]> {
    return guarded(() => {
      return readJournal(this.db, afterRevision, limit).map(journalChangeOf);
    });
  }

  async getRun(id: string): Promise<Run | undefined> {
    return guarded(() => {
      const row = getRun(this.db, id);
      return row && decodeRun(row.run);
    });
  }

  async getRunByAttempt(taskId: string, attempt: number): Promise<Run | undefined> {
    return guarded(() => {
      const row = getRunByAttempt(this.db, taskId, attempt);
      return row && decodeRun(row.run);
    });
  }

  async listTaskRuns(taskId: string, afterAttempt: number, limit: number): Promise<StoredRun[]> {
    return guarded(() => {
      return listTaskRuns(this.db, taskId, afterAttempt, limit).map((row: RunRow) => ({
        run: decodeRun(row.run),
        encodedBytes: row.run.length,
      }));
    });
  }

  async readOutput(runId: string, afterSeq: number, limit: number): Promise<OutputChunkRecord[]> {
    return guarded(() => {
      return readOutputChunks(this.db, runId, afterSeq, limit).map((row) => ({
        runId: row.run_id,
        seq: row.seq,
        stream: row.stream,
        timeMs: row.time,
        offset: row.byte_offset,
        data: row.data,
      }));
    });
  }

  async outputEndThrough(runId: string, seq: number): Promise<number> {
    return guarded(() => {
      return outputEndThrough(this.db, runId, seq);
    });
  }

  async getRunner(id: string): Promise<Runner | undefined> {
    return guarded(() => {
      const row = getRunner(this.db, id);
      return row && decodeRunner(row.runner);
    });
  }

  async getRunnerByName(name: string): Promise<Runner | undefined> {
    return guarded(() => {
      const row = getRunnerByName(this.db, name);
      return row && decodeRunner(row.runner);
    });
  }

  async listRunners(afterName: string, limit: number): Promise<StoredRunner[]> {
    return guarded(() => {
      return listRunners(this.db, afterName, limit).map((row: RunnerRow) => ({
        runner: decodeRunner(row.runner),
        encodedBytes: row.runner.length,
      }));
    });
  }

  async expiredTasks(cutoffMs: number, limit: number): Promise<Task[]> {
    return guarded(() => {
      return findExpiredTasks(this.db, cutoffMs, limit).map((row) => decodeTask(row.task));
    });
  }

  async journalCompactionBound(keepRevisions: number, minAgeCutoffMs: number, batch: number): Promise<number> {
    return guarded(() => {
      return journalCompactionBound(this.db, this.committedHead, keepRevisions, minAgeCutoffMs, batch);
    });
  }

  async dispatchableTasks(): Promise<Task[]> {
    return guarded(() => {
      return listDispatchableTasks(this.db).map((row) => decodeTask(row.task));
    });
  }

  async activeRuns(): Promise<Run[]> {
    return guarded(() => {
      return listActiveRuns(this.db).map((row) => decodeRun(row.run));
    });
  }

  async outputExtents(runId: string): Promise<OutputExtent[]> {
    return guarded(() => {
      return outputExtents(this.db, runId);
    });
  }

  async newestTaskId(): Promise<string | undefined> {
    return guarded(() => {
      return newestTaskId(this.db);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    try {
      // Every answered write is committed already; folding the WAL in makes the next start quick.
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
      this.lock?.release();
    }
  }
}

const unique = (keys: Iterable<string> | undefined): string[] => (keys ? [...new Set(keys)] : []);

const chunkRow = (chunk: OutputChunkRecord): OutputChunkRow => ({
  run_id: chunk.runId,
  seq: chunk.seq,
  stream: chunk.stream,
  time: chunk.timeMs,
  byte_offset: chunk.offset,
  data: chunk.data,
});

function journalChangeOf(row: JournalRow): TaskChange {
  const task = decodeTask(row.task);
  return {
    revision: row.revision,
    type: row.type as EventType,
    task,
    encoded: row.task,
    previous:
      row.prev_phase === null
        ? undefined
        : {
            id: task.id,
            slot: task.spec?.slot ?? "",
            labels: task.spec?.labels ?? {},
            phase: row.prev_phase,
            runnerId: row.prev_runner_id ?? "",
          },
  };
}

/**
 * One page, newest first, strictly older than `beforeId`. Without an
 * `accept` filter the page is one indexed query; with one, rows are examined
 * in batches until the page is full, the scan budget is spent (a short page
 * with a cursor, AIP-158) or the rows end. Pages are bounded in bytes too.
 */
const itemOf = (row: TaskRow) => ({ encoded: row.task, revision: row.revision });

function listPage(db: Db, params: ListTasksParams): Omit<TaskPage, "revision"> {
  const query = { slot: params.slot, phases: params.phases, runnerId: params.runnerId, idPrefix: params.idPrefix };
  if (!params.accept) {
    const rows = listTasks(db, { ...query, beforeId: params.beforeId, limit: params.limit + 1 });
    const page = pagePrefix(rows, params.limit, (row) => row.task.length);
    return { items: page.map(itemOf), nextBeforeId: page.length < rows.length ? page.at(-1)!.id : undefined };
  }
  const budget = new PageBudget(params.limit);
  const page: TaskRow[] = [];
  const done = (nextBeforeId?: string) => ({ items: page.map(itemOf), nextBeforeId });
  let cursor = params.beforeId;
  let scanned = 0;
  const batch = Math.max(params.limit * 2, 100);
  const scanBudget = params.scanBudget ?? Number.POSITIVE_INFINITY;
  while (scanned < scanBudget) {
    // Never more rows than the budget has left: `accept` sees at most scanBudget rows.
    const want = Math.min(batch, scanBudget - scanned);
    const rows = listTasks(db, { ...query, beforeId: cursor, limit: want });
    for (const row of rows) {
      scanned++;
      cursor = row.id;
      const labels = JSON.parse(row.labels) as Record<string, string>;
      const attributes = { id: row.id, slot: row.slot ?? "", phase: row.phase, runnerId: row.runner_id ?? "" };
      if (!params.accept(labels, attributes)) continue;
      // Too big for this page: the next starts with it.
      if (!budget.take(row.task.length)) return done(page.at(-1)!.id);
      page.push(row);
      if (budget.full) {
        const more = rows.length === want || row !== rows[rows.length - 1];
        return done(more ? row.id : undefined);
      }
    }
    if (rows.length < want) return done();
  }
  return done(cursor);
}
