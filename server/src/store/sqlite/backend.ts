import { randomUUID } from "node:crypto";
import type { Run, RunnerInfo as Runner, Task } from "@supervisor/sdk";
import type { Clock } from "../../core/clock.js";
import type {
  ClusterStore,
  DispatchPauseStore,
  ListTasksParams,
  OutputChunkRecord,
  OutputExtent,
  RateKeyRecord,
  ScheduleStore,
  StorageBackend,
  StoredRun,
  StoredRunner,
  StoredTask,
  TaskChange,
  TaskPage,
  TransactionPlan,
  WriteTransaction,
} from "../backend.js";
import { rateKeyOf } from "../rate-key-rows.js";
import {
  decodeRun,
  decodeRunner,
  decodeTask,
  journalChangeOf,
  outputChunkOf,
  type RunnerRow,
  type RunRow,
  storedTask,
} from "../rows.js";
import { SqliteDispatchPauses } from "./dispatch-pauses.js";
import { guarded, translate } from "./errors.js";
import { InThreadWriter } from "./in-thread-writer.js";
import { listPage } from "./list-page.js";
import { type DatabaseLock, lockDatabase } from "./lock.js";
import { type Db, openDatabase, writerPragmas } from "./open.js";
import { findExpiredTasks } from "./queries/expired-tasks.js";
import { findSlotOwner } from "./queries/find-slot-owner.js";
import { getRun } from "./queries/get-run.js";
import { getRunByAttempt } from "./queries/get-run-by-attempt.js";
import { getRunner } from "./queries/get-runner.js";
import { getRunnerByName } from "./queries/get-runner-by-name.js";
import { getTask } from "./queries/get-task.js";
import { journalCompactionBound } from "./queries/journal-bound.js";
import { getMeta, journalHead } from "./queries/journal-head.js";
import { listActiveRuns } from "./queries/list-active-runs.js";
import { listDispatchableTasks } from "./queries/list-dispatchable-tasks.js";
import { listRunners } from "./queries/list-runners.js";
import { listTaskRuns } from "./queries/list-task-runs.js";
import { newestTaskId } from "./queries/newest-task-id.js";
import { outputEndThrough, outputExtents } from "./queries/output-extents.js";
import { listRateKeys } from "./queries/rate-keys.js";
import { readJournal } from "./queries/read-journal.js";
import { readOutputChunks } from "./queries/read-output-chunks.js";
import { readKeys } from "./read-keys.js";
import { SqliteSchedules } from "./schedules.js";
import { WorkerWriter } from "./worker-writer.js";
import type { WriteOp } from "./write-ops.js";
import { planWrites } from "./write-plan.js";
import type { Writer } from "./writer.js";

export interface SqliteOptions {
  synchronous: "FULL" | "NORMAL";
  /**
   * Where writes run: "thread" (the default for a file) on a writer thread with a connection of its
   * own; "event-loop" on the backend's one connection, as `:memory:` always does (a second connection
   * cannot share it) and the fake-clock engine tests need (their settled turns cannot wait for a thread).
   */
  writer?: "thread" | "event-loop";
  /** This server's id (runners.server_id of the runners it holds); a random one when left out. */
  serverId?: string;
}

/** Starts the writer thread on its own connection to `path` (tests keep the one they start). */
export type StartWriterThread = (path: string, pragmas: readonly string[]) => Writer;

const startWorker: StartWriterThread = (path, pragmas) => new WorkerWriter(path, pragmas);

/**
 * The embedded backend: one SQLite file (WAL, synchronous FULL by default) owned by this process
 * alone (`<db>.lock`), with two connections. Writes go to a writer thread (worker-writer.ts): its
 * COMMIT, fsync and checkpoints never block the event loop. Every read runs here, on the event loop,
 * on a read-only connection. Transactions run one at a time — read here once the previous commit is
 * acknowledged, decide, post the statements, await the commit — so a transaction's reads see every
 * commit before it; the revision counter lives in memory because nothing else can write. With the
 * "event-loop" writer (and for `:memory:`) one connection reads and writes, on the event loop.
 */
export class SqliteBackend implements StorageBackend {
  readonly description: string;
  /** One server per file (the lock): nobody else writes it, and it leads itself. */
  readonly shared = false;
  readonly cluster: ClusterStore | undefined = undefined;
  readonly serverId: string;
  readonly schedules: ScheduleStore;
  readonly dispatchPauses: DispatchPauseStore;
  private committedHead: number;
  private readonly listeners = new Set<(changes: readonly TaskChange[]) => void>();
  private writing: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Runs a read in one read transaction: one snapshot, whatever the writer commits meanwhile. */
  private readonly snapshot: <T>(read: () => T) => T;

  private constructor(
    private readonly db: Db,
    private readonly writer: Writer,
    private readonly lock: DatabaseLock | undefined,
    readonly path: string,
    private readonly clock: Clock,
    serverId: string | undefined,
  ) {
    this.description = `sqlite ${path}`;
    this.serverId = serverId ?? randomUUID();
    this.committedHead = journalHead(db);
    const inTransaction = db.transaction((read: () => unknown) => read());
    this.snapshot = <T>(read: () => T) => inTransaction(read) as T;
    this.schedules = new SqliteSchedules(db, (op) => this.commitAlone(op));
    this.dispatchPauses = new SqliteDispatchPauses(db, (op) => this.commitAlone(op));
  }

  /** Takes the file's lock, checks and migrates it. Throws DatabaseInUseError / DatabaseOpenError. */
  static open(
    path: string,
    options: SqliteOptions,
    clock: Clock,
    startThread: StartWriterThread = startWorker,
  ): SqliteBackend {
    const lock = path === ":memory:" ? undefined : lockDatabase(path);
    let db: Db | undefined;
    try {
      db = openDatabase(path, options);
      if (path === ":memory:" || options.writer === "event-loop") {
        return new SqliteBackend(db, new InThreadWriter(db), lock, path, clock, options.serverId);
      }
      // From here on this connection only reads; the writer thread's is the one that writes.
      db.pragma("query_only = ON");
      return new SqliteBackend(db, startThread(path, writerPragmas(options)), lock, path, clock, options.serverId);
    } catch (error) {
      db?.close();
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
        read: async (keys) => guarded(() => readKeys(this.db, keys)),
      };
      const plan = await work(tx);
      const ops = planWrites(plan.writes, tx.firstRevision, this.clock.now(), this.serverId);
      await this.writer.commit(ops).catch((error: unknown) => {
        throw translate(error);
      });
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

  /**
   * One statement that is not a task write (a schedule's), committed on the writer in turn with the
   * transactions (the writer takes one batch at a time); resolves with how many rows it changed.
   */
  private commitAlone(op: WriteOp): Promise<number> {
    const run = this.writing.then(async () => {
      const [changed] = await this.writer.commit([op]).catch((error: unknown) => {
        throw translate(error);
      });
      return changed!;
    });
    this.writing = run.catch(() => {});
    return run;
  }

  onCommit(listener: (changes: readonly TaskChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Never called: no other server writes this file. */
  onRunnersChanged(_listener: () => void): () => void {
    return () => {};
  }

  // ---- reads ----

  /** Read, not the in-memory head: never behind a read the caller made before (the writer commits meanwhile). */
  async head(): Promise<number> {
    return guarded(() => journalHead(this.db));
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

  async getSlotOwner(slot: string): Promise<StoredTask | undefined> {
    return guarded(() => {
      const row = findSlotOwner(this.db, slot);
      return row && storedTask(row);
    });
  }

  async listTasks(params: ListTasksParams): Promise<TaskPage> {
    // The writer commits while we read: the page and its revision come from one read transaction.
    return guarded(() => this.snapshot(() => ({ ...listPage(this.db, params), revision: journalHead(this.db) })));
  }

  async readJournal(afterRevision: number, limit: number): Promise<TaskChange[]> {
    return guarded(() => {
      return readJournal(this.db, afterRevision, limit).map(journalChangeOf);
    });
  }

  async getRun(id: string): Promise<Run | undefined> {
    return guarded(() => {
      const row = getRun(this.db, id);
      return row && decodeRun(row);
    });
  }

  async getRunByAttempt(taskId: string, attempt: number): Promise<Run | undefined> {
    return guarded(() => {
      const row = getRunByAttempt(this.db, taskId, attempt);
      return row && decodeRun(row);
    });
  }

  async listTaskRuns(taskId: string, afterAttempt: number, limit: number): Promise<StoredRun[]> {
    return guarded(() => {
      return listTaskRuns(this.db, taskId, afterAttempt, limit).map((row: RunRow) => ({
        run: decodeRun(row),
        encodedBytes: row.run.length,
      }));
    });
  }

  async readOutput(runId: string, afterSeq: number, limit: number): Promise<OutputChunkRecord[]> {
    return guarded(() => {
      return readOutputChunks(this.db, runId, afterSeq, limit).map(outputChunkOf);
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
      return row && decodeRunner(row);
    });
  }

  async getRunnerServer(id: string): Promise<string | null | undefined> {
    return guarded(() => getRunner(this.db, id)?.server_id);
  }

  async getRunnerByName(name: string): Promise<Runner | undefined> {
    return guarded(() => {
      const row = getRunnerByName(this.db, name);
      return row && decodeRunner(row);
    });
  }

  async listRunners(afterName: string, limit: number): Promise<StoredRunner[]> {
    return guarded(() => {
      return listRunners(this.db, afterName, limit).map((row: RunnerRow) => ({
        runner: decodeRunner(row),
        encodedBytes: row.runner.length,
        serverId: row.server_id,
      }));
    });
  }

  async expiredTasks(cutoffMs: number, limit: number): Promise<Task[]> {
    return guarded(() => {
      return findExpiredTasks(this.db, cutoffMs, limit).map(decodeTask);
    });
  }

  async journalCompactionBound(keepRevisions: number, minAgeCutoffMs: number, batch: number): Promise<number> {
    return guarded(() => {
      return journalCompactionBound(this.db, this.committedHead, keepRevisions, minAgeCutoffMs, batch);
    });
  }

  async dispatchableTasks(): Promise<Task[]> {
    return guarded(() => {
      return listDispatchableTasks(this.db).map(decodeTask);
    });
  }

  async activeRuns(): Promise<Run[]> {
    return guarded(() => {
      return listActiveRuns(this.db).map(decodeRun);
    });
  }

  async rateKeys(): Promise<RateKeyRecord[]> {
    return guarded(() => listRateKeys(this.db).map(rateKeyOf));
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

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.writing;
    try {
      // The writer finishes what it was given, checkpoints (TRUNCATE) and closes its connection.
      await this.writer.close();
    } finally {
      this.db.close();
      this.lock?.release();
    }
  }
}
