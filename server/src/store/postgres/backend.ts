import { randomUUID } from "node:crypto";
import type { Run, RunnerInfo as Runner, Task } from "@supervisor/sdk";
import type pg from "pg";
import type { Clock } from "../../core/clock.js";
import { storeUnavailable } from "../../errors.js";
import type {
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
import { readPool } from "./connect.js";
import { guarded, translate, unavailableCause } from "./errors.js";
import { listPage } from "./list-page.js";
import { DatabaseInUseError } from "./lock.js";
import { migrate } from "./migrate.js";
import { aboveCursor } from "./nul.js";
import { cannotOpen } from "./open-error.js";
import { compactedThrough, compactJournal, lockHead, readHead } from "./queries/head.js";
import { journalCompactionBound, readJournal } from "./queries/journal.js";
import { outputEndThrough, outputExtents, readOutputChunks } from "./queries/output.js";
import { getRunner, getRunnerByName, listRunners } from "./queries/runners.js";
import { activeRuns, getRun, getRunByAttempt, listTaskRuns } from "./queries/runs.js";
import { dispatchableTasks, expiredTasks, getTask, newestTaskId } from "./queries/tasks.js";
import { expireIdempotencyKeys, putIdempotencyKeys } from "./queries/write-idempotency-keys.js";
import { deleteOutputChunks, insertOutputChunks } from "./queries/write-output.js";
import { deleteRunners, upsertRunners } from "./queries/write-runners.js";
import { pruneRuns, upsertRuns } from "./queries/write-runs.js";
import { STALE_BATCH, writeTaskChanges } from "./queries/write-task-changes.js";
import { decodeRun, decodeRunner, decodeTask, journalChangeOf, outputChunkOf, storedTask } from "./rows.js";
import { readSnapshot } from "./snapshot.js";
import { planTaskChanges } from "./task-changes.js";
import { redactUrl } from "./url.js";
import { Writer } from "./writer.js";

/** How many journal entries a recovery after a lost connection reads at a time. */
const RECOVERY_BATCH = 1000;

/**
 * The PostgreSQL backend: one database owned by one server at a time (the writer lock). Write
 * transactions run one after another on the writer's connection, each pipelined: BEGIN, the lock on
 * the revision counter and the first read go out together, the writes (one multi-row statement per
 * table) and COMMIT go out together, so a batch costs about two round trips whatever its size. Reads
 * run on a small pool, each one statement or one REPEATABLE READ snapshot.
 */
export class PostgresBackend implements StorageBackend {
  readonly description: string;
  // Stand-ins on the cluster-engine branch for cluster-store's shared mode (replaced by it on merge).
  readonly shared = false;
  readonly serverId = randomUUID();
  readonly cluster = undefined;
  onRunnersChanged(_listener: () => void): () => void {
    return () => {};
  }
  async getRunnerServer(id: string): Promise<string | null | undefined> {
    return (await this.getRunner(id)) ? null : undefined;
  }
  private readonly listeners = new Set<(changes: readonly TaskChange[]) => void>();
  private writing: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly writer: Writer,
    /** The newest revision this server committed and published: the single writer knows it. */
    private committedHead: number,
    private readonly clock: Clock,
    where: string,
  ) {
    this.description = `postgres ${where}`;
  }

  /** Connects, takes the writer lock, checks and migrates the schema. Throws DatabaseInUseError / DatabaseOpenError. */
  static async open(url: string, clock: Clock): Promise<PostgresBackend> {
    const where = redactUrl(url);
    const writer = new Writer(url, where);
    const pool = readPool(url);
    try {
      const { client } = await writer.connection();
      await migrate(client, where);
      return new PostgresBackend(pool, writer, await readHead(client), clock, where);
    } catch (error) {
      await writer.close();
      await pool.end().catch(() => {});
      throw cannotOpen(where, error);
    }
  }

  // ---- writes ----

  transact<R>(work: (tx: WriteTransaction) => Promise<TransactionPlan<R>>): Promise<R> {
    // One at a time: a transaction's reads must see every commit before it, and firstRevision is known.
    const run = this.writing.then(() => this.transaction(work));
    this.writing = run.catch(() => {});
    return run;
  }

  private async transaction<R>(work: (tx: WriteTransaction) => Promise<TransactionPlan<R>>): Promise<R> {
    const client = await this.connection();
    const head = this.committedHead;
    // BEGIN and the counter lock go out with the first read (or with the writes, when nothing is read).
    let begun = false;
    const begin = (): Promise<unknown>[] => {
      if (begun) return [];
      begun = true;
      return [
        client.query("BEGIN"),
        lockHead(client).then((locked) => {
          if (locked !== head) throw new Error(`the head is ${locked}, not ${head}: another server wrote here`);
        }),
      ];
    };
    const tx: WriteTransaction = {
      firstRevision: head + 1,
      read: (keys: ReadKeys) =>
        this.guard(async () => (await settle([...begin(), readSnapshot(client, keys)])).at(-1) as Snapshot),
    };
    let sent = false;
    try {
      const { writes, result } = await work(tx);
      if (isEmpty(writes)) {
        if (begun) await this.guard(() => client.query("ROLLBACK"));
        return result;
      }
      const plan = planTaskChanges(writes.tasks, head + 1);
      const timeMs = this.clock.now();
      const statements = [...begin(), ...writeTaskChanges(client, plan, head, timeMs), ...otherWrites(client, writes)];
      sent = true;
      const commit = client.query("COMMIT");
      const results = await this.guard(() => settle([...statements, commit]));
      // COMMIT of a transaction a statement failed in answers ROLLBACK; settle threw that statement's error.
      if ((results.at(-1) as pg.QueryResult).command !== "COMMIT") throw new Error("the transaction was rolled back");
      if (plan.lastRevision !== undefined) {
        this.committedHead = plan.lastRevision;
        this.publish(writes.tasks.map((write) => write.change));
      }
      return result;
    } catch (error) {
      // Sent with COMMIT, a failure ended the transaction already; before that, end it here.
      if (begun && !sent) await client.query("ROLLBACK").catch(() => this.writer.markBroken());
      throw staleOr(error);
    }
  }

  /**
   * The writer's connection. A new one (the last broke) first catches up: a commit whose answer was
   * lost with the connection may have happened, and its changes are published now, in order.
   */
  private async connection(): Promise<pg.Client> {
    const { client, fresh } = await this.guard(() => this.writer.connection()).catch((error) => {
      if (error instanceof DatabaseInUseError) throw storeUnavailable("postgres: another server holds the writer lock");
      throw error;
    });
    if (fresh) {
      await this.guard(async () => {
        const stored = await readHead(client);
        if (stored < this.committedHead) {
          throw new Error(`the database's head ${stored} is behind the ${this.committedHead} this server committed`);
        }
        while (this.committedHead < stored) {
          const changes = (await readJournal(client, this.committedHead, RECOVERY_BATCH)).map(journalChangeOf);
          if (changes.length === 0) throw new Error(`the journal ends before the head ${stored}`);
          this.committedHead = changes.at(-1)!.revision;
          this.publish(changes);
        }
      });
    }
    return client;
  }

  /** Runs a database call of the writer: a failure that means the connection is gone drops it. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (unavailableCause(error) !== undefined) this.writer.markBroken();
      throw translate(error);
    }
  }

  private publish(changes: readonly TaskChange[]): void {
    for (const listener of this.listeners) listener(changes);
  }

  onCommit(listener: (changes: readonly TaskChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- reads ----

  head(): Promise<number> {
    return guarded(() => readHead(this.pool));
  }

  compactedThrough(): Promise<number> {
    return guarded(() => compactedThrough(this.pool));
  }

  getTask(id: string): Promise<StoredTask | undefined> {
    return guarded(async () => {
      const row = await getTask(this.pool, id);
      return row && storedTask(row);
    });
  }

  listTasks(params: ListTasksParams): Promise<TaskPage> {
    return guarded(async () => {
      const client = await this.pool.connect();
      try {
        // One snapshot for the head and every query of the page; the three go out together.
        const [, revision, page] = await settle([
          client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
          readHead(client),
          listPage(client, params),
        ]);
        // Not awaited: the page is read. The connection goes back to the pool once the snapshot is let go.
        client.query("COMMIT").then(
          () => client.release(),
          (error: Error) => client.release(error),
        );
        return { ...(page as Omit<TaskPage, "revision">), revision: revision as number };
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
    });
  }

  readJournal(afterRevision: number, limit: number): Promise<TaskChange[]> {
    return guarded(async () => (await readJournal(this.pool, afterRevision, limit)).map(journalChangeOf));
  }

  getRun(id: string): Promise<Run | undefined> {
    return guarded(async () => {
      const row = await getRun(this.pool, id);
      return row && decodeRun(row);
    });
  }

  getRunByAttempt(taskId: string, attempt: number): Promise<Run | undefined> {
    return guarded(async () => {
      const row = await getRunByAttempt(this.pool, taskId, attempt);
      return row && decodeRun(row);
    });
  }

  listTaskRuns(taskId: string, afterAttempt: number, limit: number): Promise<StoredRun[]> {
    return guarded(async () =>
      (await listTaskRuns(this.pool, taskId, afterAttempt, limit)).map((row) => ({
        run: decodeRun(row),
        encodedBytes: row.run.length,
      })),
    );
  }

  readOutput(runId: string, afterSeq: number, limit: number): Promise<OutputChunkRecord[]> {
    return guarded(async () => (await readOutputChunks(this.pool, runId, afterSeq, limit)).map(outputChunkOf));
  }

  outputEndThrough(runId: string, seq: number): Promise<number> {
    return guarded(() => outputEndThrough(this.pool, runId, seq));
  }

  getRunner(id: string): Promise<Runner | undefined> {
    return guarded(async () => {
      const row = await getRunner(this.pool, id);
      return row && decodeRunner(row);
    });
  }

  getRunnerByName(name: string): Promise<Runner | undefined> {
    return guarded(async () => {
      const row = await getRunnerByName(this.pool, name);
      return row && decodeRunner(row);
    });
  }

  listRunners(afterName: string, limit: number): Promise<StoredRunner[]> {
    return guarded(async () =>
      (await listRunners(this.pool, aboveCursor(afterName), limit)).map((row) => ({
        runner: decodeRunner(row),
        encodedBytes: row.runner.length,
      })),
    );
  }

  // ---- maintenance ----

  expiredTasks(cutoffMs: number, limit: number): Promise<Task[]> {
    return guarded(async () => (await expiredTasks(this.pool, cutoffMs, limit)).map(decodeTask));
  }

  journalCompactionBound(keepRevisions: number, minAgeCutoffMs: number, batch: number): Promise<number> {
    return guarded(() => journalCompactionBound(this.pool, keepRevisions, minAgeCutoffMs, batch));
  }

  // ---- start-up ----

  dispatchableTasks(): Promise<Task[]> {
    return guarded(async () => (await dispatchableTasks(this.pool)).map(decodeTask));
  }

  activeRuns(): Promise<Run[]> {
    return guarded(async () => (await activeRuns(this.pool)).map(decodeRun));
  }

  outputExtents(runId: string): Promise<OutputExtent[]> {
    return guarded(() => outputExtents(this.pool, runId));
  }

  newestTaskId(): Promise<string | undefined> {
    return guarded(() => newestTaskId(this.pool));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    try {
      await this.writer.close();
    } finally {
      await this.pool.end().catch(() => {});
    }
  }
}

/** Every write of the batch but its task changes, in the order the SQLite backend applies them. */
function otherWrites(client: pg.Client, writes: WriteSet): Promise<unknown>[] {
  const sent: Promise<unknown>[] = [];
  if (writes.runs.length > 0) sent.push(upsertRuns(client, writes.runs));
  // After the runs: a run written and pruned in one batch stays pruned.
  if (writes.prunedRuns.length > 0) sent.push(pruneRuns(client, writes.prunedRuns));
  if (writes.idempotencyKeys.length > 0) sent.push(putIdempotencyKeys(client, writes.idempotencyKeys));
  if (writes.outputChunks.length > 0) sent.push(insertOutputChunks(client, writes.outputChunks));
  if (writes.deletedChunks.length > 0) sent.push(deleteOutputChunks(client, writes.deletedChunks));
  if (writes.runners.length > 0) sent.push(upsertRunners(client, writes.runners));
  if (writes.deletedRunners.length > 0) sent.push(deleteRunners(client, writes.deletedRunners));
  const expire = writes.expireIdempotencyKeys;
  if (expire) sent.push(expireIdempotencyKeys(client, expire.beforeMs, expire.limit));
  if (writes.compactJournalThrough !== undefined) sent.push(compactJournal(client, writes.compactJournalThrough));
  return sent;
}

const isEmpty = (writes: WriteSet): boolean =>
  writes.tasks.length === 0 &&
  writes.runs.length === 0 &&
  writes.prunedRuns.length === 0 &&
  writes.idempotencyKeys.length === 0 &&
  writes.outputChunks.length === 0 &&
  writes.deletedChunks.length === 0 &&
  writes.runners.length === 0 &&
  writes.deletedRunners.length === 0 &&
  writes.expireIdempotencyKeys === undefined &&
  writes.compactJournalThrough === undefined;

/**
 * Waits for every statement sent together and returns their results; throws the error of the first
 * one that failed (those after it in its transaction fail only because it did: 25P02).
 */
async function settle(sent: readonly Promise<unknown>[]): Promise<unknown[]> {
  const outcomes = await Promise.allSettled(sent);
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value);
}

/** The counter's refusal (queries/write-task-changes.ts) in words. */
function staleOr(error: unknown): unknown {
  const { code, table } = (error ?? {}) as { code?: string; table?: string };
  if (code === STALE_BATCH.code && table === STALE_BATCH.table) {
    return new Error(
      "a change or deletion of a task that is not stored, or a head moved by another writer: " +
        "the batch was decided on stale state",
      { cause: error },
    );
  }
  return error;
}
