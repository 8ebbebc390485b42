import { randomUUID } from "node:crypto";
import { type Run, type RunnerInfo as Runner, SYSTEM_TIMERS, type Task, type Timers } from "@supervisor/sdk";
import type pg from "pg";
import type { Clock } from "../../core/clock.js";
import { type Logger, notLeader, storeUnavailable } from "../../errors.js";
import type {
  ClusterStore,
  ListTasksParams,
  OutputChunkRecord,
  OutputExtent,
  RateKeyRecord,
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
import { rateKeyOf } from "../rate-key-rows.js";
import { readPool } from "./connect.js";
import { PostgresDispatchPauses } from "./dispatch-pauses.js";
import { guarded, translate, unavailableCause } from "./errors.js";
import { listPage } from "./list-page.js";
import { DatabaseInUseError } from "./lock.js";
import { migrate } from "./migrate.js";
import { aboveCursor } from "./nul.js";
import { cannotOpen } from "./open-error.js";
import { compactedThrough, compactJournal, lockHead, readHead } from "./queries/head.js";
import { journalCompactionBound, readJournal } from "./queries/journal.js";
import { fence, NOT_HELD } from "./queries/leader.js";
import { CHANNELS, notify } from "./queries/notify.js";
import { outputEndThrough, outputExtents, readOutputChunks } from "./queries/output.js";
import { expireRateKeys, listRateKeys, pauseRateKeys, putRateKeyTats } from "./queries/rate-keys.js";
import { getRunner, getRunnerByName, listRunners } from "./queries/runners.js";
import { activeRuns, getRun, getRunByAttempt, listTaskRuns } from "./queries/runs.js";
import { dispatchableTasks, expiredTasks, getSlotOwner, getTask, newestTaskId } from "./queries/tasks.js";
import { expireIdempotencyKeys, putIdempotencyKeys } from "./queries/write-idempotency-keys.js";
import { deleteOutputChunks, insertOutputChunks } from "./queries/write-output.js";
import { deleteRunners, upsertRunners } from "./queries/write-runners.js";
import { pruneRuns, upsertRuns } from "./queries/write-runs.js";
import { STALE_BATCH, writeTaskChanges } from "./queries/write-task-changes.js";
import { decodeRun, decodeRunner, decodeTask, journalChangeOf, outputChunkOf, storedTask } from "./rows.js";
import { PostgresSchedules } from "./schedules.js";
import { SharedMode } from "./shared-mode.js";
import { readSnapshot } from "./snapshot.js";
import { planTaskChanges } from "./task-changes.js";
import { redactUrl } from "./url.js";
import { Writer } from "./writer.js";

/** How many journal entries a recovery after a lost connection reads at a time. */
const RECOVERY_BATCH = 1000;

export interface PostgresOptions {
  /**
   * Other servers write the same database at the same time (issue 17): the writer lock is taken in
   * shared mode, each transaction's first revision comes from the locked counter, and the other
   * servers' commits are read from the journal and published too. Default: one server per database.
   */
  shared?: boolean;
  /** This server's id (servers, runners.server_id, the leader lease); a random one when left out. */
  serverId?: string;
  /** Shared: how often this server's row is heartbeated (default 1 s). */
  heartbeatMs?: number;
  /** Shared: how often the head is read in case a notification was lost (default 500 ms). */
  reconcileMs?: number;
  timers?: Timers;
  log?: Logger;
}

const HEARTBEAT_MS = 1000;
const RECONCILE_MS = 500;

/** What a transaction hands back before its changes are published: its result, and when shared, the wait. */
interface Committed<R> {
  result: R;
  /** Resolves once the changes are published (shared: the other servers' before them may need reading first). */
  published?: Promise<void>;
}

/**
 * The PostgreSQL backend: one database owned by one server at a time (the writer lock), or shared by
 * several servers (PostgresOptions.shared). Write transactions run one after another on the writer's
 * connection, each pipelined: BEGIN, the lock on the revision counter and the first read go out
 * together, the writes (one multi-row statement per table) and COMMIT go out together, so a batch
 * costs about two round trips whatever its size. Reads run on a small pool, each one statement or one
 * REPEATABLE READ snapshot. Every server's write transactions take the same counter lock first, so
 * when servers share the database theirs commit one at a time too, in revision order.
 */
export class PostgresBackend implements StorageBackend {
  readonly description: string;
  readonly shared: boolean;
  readonly schedules: PostgresSchedules;
  readonly dispatchPauses: PostgresDispatchPauses;
  private writing: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly writer: Writer,
    /** Alone: the newest revision this server committed and published (the single writer knows it). */
    private committedHead: number,
    private readonly clock: Clock,
    where: string,
    readonly serverId: string,
    private readonly listeners: Set<(changes: readonly TaskChange[]) => void>,
    /** Shared: the journal tail, the publisher in revision order, the cluster's tables. */
    private readonly sharing: SharedMode | undefined,
  ) {
    this.description = `postgres ${where}${sharing ? " (shared)" : ""}`;
    this.shared = sharing !== undefined;
    this.schedules = new PostgresSchedules(pool, serverId, this.shared);
    sharing?.onSchedulesChanged(() => this.schedules.changedElsewhere());
    this.dispatchPauses = new PostgresDispatchPauses(pool, serverId, this.shared);
    sharing?.onDispatchPausesChanged(() => this.dispatchPauses.changedElsewhere());
  }

  /** Connects, takes the writer lock, checks and migrates the schema. Throws DatabaseInUseError / DatabaseOpenError. */
  static async open(url: string, clock: Clock, options: PostgresOptions = {}): Promise<PostgresBackend> {
    const where = redactUrl(url);
    const shared = options.shared ?? false;
    const serverId = options.serverId ?? randomUUID();
    const writer = new Writer(url, where, shared, serverId);
    const pool = readPool(url, serverId);
    const listeners = new Set<(changes: readonly TaskChange[]) => void>();
    try {
      const { client } = await writer.connection();
      await migrate(client, where);
      const sharing = shared
        ? await SharedMode.start(
            url,
            pool,
            {
              serverId,
              heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
              reconcileMs: options.reconcileMs ?? RECONCILE_MS,
              timers: options.timers ?? SYSTEM_TIMERS,
              log: options.log ?? (() => {}),
            },
            (changes) => publishTo(listeners, changes),
          )
        : undefined;
      const head = sharing ? sharing.publisher.head : await readHead(client);
      return new PostgresBackend(pool, writer, head, clock, where, serverId, listeners, sharing);
    } catch (error) {
      await writer.close();
      await pool.end().catch(() => {});
      throw cannotOpen(where, error);
    }
  }

  get cluster(): ClusterStore | undefined {
    return this.sharing?.cluster;
  }

  // ---- writes ----

  transact<R>(work: (tx: WriteTransaction) => Promise<TransactionPlan<R>>): Promise<R> {
    // One at a time: a transaction's reads must see every commit before it, and firstRevision is known.
    const run = this.writing.then(() => this.transaction(work));
    this.writing = run.catch(() => {});
    // The next transaction need not wait for this one's publication: the publisher keeps the order.
    return run.then(async ({ result, published }) => {
      if (published) await published;
      return result;
    });
  }

  private async transaction<R>(work: (tx: WriteTransaction) => Promise<TransactionPlan<R>>): Promise<Committed<R>> {
    const client = await this.connection();
    const sharing = this.sharing;
    if (sharing?.publisher.failed !== undefined) throw storeUnavailable("postgres: the journal tail stopped");
    // Alone, the head this server committed last; shared, what it published (the locked counter tells better).
    const known = sharing ? sharing.publisher.head : this.committedHead;
    let locked: number | undefined;
    // BEGIN and the counter lock go out with the first read (or with the writes, when nothing is read).
    let begun = false;
    const begin = (): Promise<unknown>[] => {
      if (begun) return [];
      begun = true;
      return [
        client.query("BEGIN"),
        lockHead(client).then((head) => {
          if (!sharing && head !== known)
            throw new Error(`the head is ${head}, not ${known}: another server wrote here`);
          locked = head;
        }),
      ];
    };
    const tx: WriteTransaction = {
      // Shared, known once the first read answered (the group commit reads first, then asks); a transaction
      // that asks before it reads gets the published head's next, and fails if another server wrote since.
      get firstRevision() {
        return (locked ?? known) + 1;
      },
      read: (keys: ReadKeys) =>
        this.guard(async () => (await settle([...begin(), readSnapshot(client, keys)])).at(-1) as Snapshot),
    };
    let sent = false;
    try {
      const { writes, result } = await work(tx);
      if (isEmpty(writes)) {
        if (begun) await this.guard(() => client.query("ROLLBACK"));
        return { result };
      }
      // Not read: the batch follows what this server knows; WRITE_TASK_CHANGES refuses it if the counter moved.
      const head = locked ?? known;
      const plan = planTaskChanges(writes.tasks, head + 1);
      const timeMs = this.clock.now();
      const statements = [
        ...begin(),
        ...this.fence(client, writes),
        ...writeTaskChanges(client, plan, head, timeMs),
        ...otherWrites(client, writes, this.serverId),
        ...this.notifications(client, writes, plan.lastRevision),
      ];
      sent = true;
      const commit = client.query("COMMIT");
      const results = await this.guard(() => settle([...statements, commit]));
      // COMMIT of a transaction a statement failed in answers ROLLBACK; settle threw that statement's error.
      if ((results.at(-1) as pg.QueryResult).command !== "COMMIT") throw new Error("the transaction was rolled back");
      if (plan.lastRevision === undefined) return { result };
      const changes = writes.tasks.map((write) => write.change);
      if (sharing) return { result, published: sharing.committed(changes) };
      this.committedHead = plan.lastRevision;
      this.publish(changes);
      return { result };
    } catch (error) {
      // Sent with COMMIT, a failure ended the transaction already; before that, end it here.
      if (begun && !sent) await client.query("ROLLBACK").catch(() => this.writer.markBroken());
      throw staleOr(error);
    }
  }

  /**
   * A leader's write commits only under its lease (WriteSet.leaderEpoch), checked after the counter
   * lock, before the writes. Alone, this server always leads.
   */
  private fence(client: pg.Client, writes: WriteSet): Promise<unknown>[] {
    const epoch = writes.leaderEpoch;
    if (!this.sharing || epoch === undefined) return [];
    return [
      fence(client, this.serverId, epoch).catch((error: { code?: string }) => {
        throw error?.code === NOT_HELD ? notLeader(epoch) : error;
      }),
    ];
  }

  /** Shared: one notification per transaction that moved the head, and one if it changed runners. */
  private notifications(client: pg.Client, writes: WriteSet, head: number | undefined): Promise<unknown>[] {
    if (!this.sharing) return [];
    const sent: Promise<unknown>[] = [];
    if (head !== undefined) sent.push(notify(client, CHANNELS.journal, String(head)));
    if (writes.runners.length > 0 || writes.deletedRunners.length > 0) {
      sent.push(notify(client, CHANNELS.runners, this.serverId));
    }
    return sent;
  }

  /**
   * The writer's connection. A new one (the last broke) first catches up: a commit whose answer was
   * lost with the connection may have happened, and its changes are published now, in order (shared:
   * the journal tail reads them).
   */
  private async connection(): Promise<pg.Client> {
    const { client, fresh } = await this.guard(() => this.writer.connection()).catch((error) => {
      if (error instanceof DatabaseInUseError) {
        throw storeUnavailable(
          this.sharing
            ? "postgres: a server that does not share the database holds the writer lock"
            : "postgres: another server holds the writer lock",
        );
      }
      throw error;
    });
    if (fresh && this.sharing) this.sharing.reconcile();
    else if (fresh) {
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
    publishTo(this.listeners, changes);
  }

  onCommit(listener: (changes: readonly TaskChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onRunnersChanged(listener: () => void): () => void {
    return this.sharing?.onRunnersChanged(listener) ?? (() => {});
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

  getSlotOwner(slot: string): Promise<StoredTask | undefined> {
    return guarded(async () => {
      const row = await getSlotOwner(this.pool, slot);
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

  getRunnerServer(id: string): Promise<string | null | undefined> {
    return guarded(async () => (await getRunner(this.pool, id))?.server_id);
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
        serverId: row.server_id,
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

  rateKeys(): Promise<RateKeyRecord[]> {
    return guarded(async () => (await listRateKeys(this.pool)).map(rateKeyOf));
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
      await this.sharing?.close();
      await this.writer.close();
    } finally {
      await this.pool.end().catch(() => {});
    }
  }
}

function publishTo(listeners: Set<(changes: readonly TaskChange[]) => void>, changes: readonly TaskChange[]): void {
  for (const listener of listeners) listener(changes);
}

/** Every write of the batch but its task changes, in the order the SQLite backend applies them. */
function otherWrites(client: pg.Client, writes: WriteSet, serverId: string): Promise<unknown>[] {
  const sent: Promise<unknown>[] = [];
  if (writes.runs.length > 0) sent.push(upsertRuns(client, writes.runs));
  // After the runs: a run written and pruned in one batch stays pruned.
  if (writes.prunedRuns.length > 0) sent.push(pruneRuns(client, writes.prunedRuns));
  if (writes.idempotencyKeys.length > 0) sent.push(putIdempotencyKeys(client, writes.idempotencyKeys));
  if (writes.outputChunks.length > 0) sent.push(insertOutputChunks(client, writes.outputChunks));
  if (writes.deletedChunks.length > 0) sent.push(deleteOutputChunks(client, writes.deletedChunks));
  if (writes.runners.length > 0) sent.push(upsertRunners(client, writes.runners, serverId));
  if (writes.deletedRunners.length > 0) sent.push(deleteRunners(client, writes.deletedRunners));
  if (writes.rateKeyTats.length > 0) sent.push(putRateKeyTats(client, writes.rateKeyTats));
  if (writes.keyPauses.length > 0) sent.push(pauseRateKeys(client, writes.keyPauses));
  if (writes.expireRateKeysBeforeMs !== undefined) sent.push(expireRateKeys(client, writes.expireRateKeysBeforeMs));
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
  writes.rateKeyTats.length === 0 &&
  writes.keyPauses.length === 0 &&
  writes.expireRateKeysBeforeMs === undefined &&
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
