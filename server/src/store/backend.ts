import type { DispatchPause, EventType, Run, RunnerInfo as Runner, Schedule, Task } from "@supervisor/sdk";
import type { FilterAttributes } from "../core/task-filter.js";
import type { SlotState } from "../core/task-lifecycle.js";

/**
 * The one door to storage. Every backend (SQLite embedded, PostgreSQL for
 * several servers) implements this interface and passes the conformance
 * suite in test/conformance/. Nothing outside a backend's folder touches SQL.
 *
 * Writes happen in one transaction per group-commit batch, in three phases:
 * the batch *reads* what it needs (one round trip per `read`), *decides*
 * synchronously in shared code (server/src/store/decide/) over that snapshot
 * plus an in-memory overlay, and hands the backend the *writes*. The backend
 * gives every task change the next revision — one global, gap-free order
 * equal to commit order — applies the writes, commits, and only then
 * publishes the changes to its listeners, in revision order.
 */
export interface StorageBackend {
  /** What this backend is, for logs: "sqlite /var/lib/x.db". */
  readonly description: string;
  /**
   * True when other servers may write the same database at the same time (PostgreSQL opened
   * shared): rows this server wrote may change behind it, and `onCommit` delivers their changes too.
   */
  readonly shared: boolean;
  /** This server's id: its row in the servers table, runners.server_id, the holder of the leader lease. */
  readonly serverId: string;

  // ---- writes ----

  /**
   * Runs one write transaction. `work` reads through `tx` (each read sees
   * every commit before this transaction, and nothing of other transactions
   * running at the same time), then returns the writes. The promise resolves
   * with `work`'s result once the writes are committed; if `work` throws or
   * the commit fails, nothing is written and nothing is published.
   */
  transact<R>(work: (tx: WriteTransaction) => Promise<TransactionPlan<R>>): Promise<R>;

  /**
   * Called with every committed batch of task changes, in revision order: each change once,
   * contiguous from the head at open. When shared, other servers' changes too (read from the
   * journal); this server's own commits are published before their `transact` resolves.
   */
  onCommit(listener: (changes: readonly TaskChange[]) => void): () => void;

  /** Called when another server changed the runners table (shared only; never on SQLite). */
  onRunnersChanged(listener: () => void): () => void;

  /** What servers sharing the database coordinate through; undefined unless `shared`. */
  readonly cluster: ClusterStore | undefined;

  /** Schedules (issue 18): outside the task journal, each write one conditional statement. */
  readonly schedules: ScheduleStore;

  /** Dispatch pauses (issue 20): outside the task journal, each write one statement. */
  readonly dispatchPauses: DispatchPauseStore;

  // ---- reads (each a consistent snapshot of committed data) ----

  /** The newest committed revision. */
  head(): Promise<number>;
  /** Revisions at or below this were compacted out of the journal. */
  compactedThrough(): Promise<number>;
  getTask(id: string): Promise<StoredTask | undefined>;
  /** The active task that owns `slot` (its slot state is owner), if one does. */
  getSlotOwner(slot: string): Promise<StoredTask | undefined>;
  /** One page of tasks, newest first, and the revision the page was read at (one snapshot). */
  listTasks(params: ListTasksParams): Promise<TaskPage>;
  /** Journal entries after `afterRevision`, oldest first. */
  readJournal(afterRevision: number, limit: number): Promise<TaskChange[]>;
  getRun(id: string): Promise<Run | undefined>;
  /** The run of `attempt` (0 = the latest). */
  getRunByAttempt(taskId: string, attempt: number): Promise<Run | undefined>;
  /** Runs after `afterAttempt`, oldest first, with their encoded size. */
  listTaskRuns(taskId: string, afterAttempt: number, limit: number): Promise<StoredRun[]>;
  /** Stored output chunks after `afterSeq`, in order. */
  readOutput(runId: string, afterSeq: number, limit: number): Promise<OutputChunkRecord[]>;
  /** The end offset of the last stored chunk at or before `seq` (0 if none). */
  outputEndThrough(runId: string, seq: number): Promise<number>;
  getRunner(id: string): Promise<Runner | undefined>;
  /** The server holding the runner's stream (runners.server_id): null when none, undefined when no such runner. */
  getRunnerServer(id: string): Promise<string | null | undefined>;
  getRunnerByName(name: string): Promise<Runner | undefined>;
  /** Runners by name after `afterName`, with their encoded size. */
  listRunners(afterName: string, limit: number): Promise<StoredRunner[]>;

  // ---- maintenance ----

  /** Terminal tasks that finished before the cutoff, oldest first (retention). */
  expiredTasks(cutoffMs: number, limit: number): Promise<Task[]>;
  /**
   * The highest revision the journal may be compacted through now: at least
   * `keepRevisions` behind the head (the newest `keepRevisions` stay) and
   * older than `minAgeCutoffMs`, within the oldest `batch` entries. 0 when
   * nothing may go.
   */
  journalCompactionBound(keepRevisions: number, minAgeCutoffMs: number, batch: number): Promise<number>;

  // ---- start-up: what the engine rebuilds its memory from ----

  /** Pending tasks free to run (not queued behind a slot owner). */
  dispatchableTasks(): Promise<Task[]>;
  /** Every ASSIGNED or RUNNING run. */
  activeRuns(): Promise<Run[]>;
  /** Every stored key state (rate_keys): what the leader's token buckets and retry-after pauses start from. */
  rateKeys(): Promise<RateKeyRecord[]>;
  /** Where each stored chunk of a run sits, in seq order. */
  outputExtents(runId: string): Promise<OutputExtent[]>;
  /** The newest task id ever stored, so ids never go backwards after a restart. */
  newestTaskId(): Promise<string | undefined>;

  /** Flushes what it can (a checkpoint), releases the database and its lock. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- records

/** A task as stored: decoded, with its slot state and its protobuf bytes (pages send the bytes as they are). */
export interface StoredTask {
  task: Task;
  slotState: SlotState;
  encoded: Uint8Array;
}

export interface StoredRun {
  run: Run;
  encodedBytes: number;
}

export interface StoredRunner {
  runner: Runner;
  encodedBytes: number;
  /** The server holding its stream (runners.server_id), null when none. */
  serverId: string | null;
}

/** A runner to store, and the server holding its stream. */
export interface RunnerWrite {
  runner: Runner;
  /**
   * runners.server_id. Left out: this server while the runner is CONNECTED or DRAINING (the
   * server writing a live runner's row is the one holding its stream), null once DISCONNECTED.
   */
  serverId?: string | null;
}

/** One committed change of one task, as the journal holds it and watchers receive it. */
export interface TaskChange {
  revision: number;
  type: EventType;
  /** The task after the change (for DELETED: its last state). */
  task: Task;
  /** The filter attributes before a MODIFIED change, so a watcher can tell "left my filter". */
  previous?: FilterAttributes;
  /** The task's protobuf, as stored: watch events embed it instead of encoding the task again. */
  encoded?: Uint8Array;
  /** WatchTasksResponse wire bytes by event type, built once and shared by every watcher. */
  wire?: Partial<Record<number, Buffer>>;
}

export interface OutputChunkRecord {
  runId: string;
  seq: number;
  stream: number;
  /** ms since the epoch: when the supervisor received it. */
  timeMs: number;
  /** Offset of data[0] in the run's output. */
  offset: number;
  data: Buffer;
}

export interface OutputExtent {
  seq: number;
  offset: number;
  size: number;
}

/**
 * A rate-limit or concurrency key's flow state (rate_keys): its token bucket as GCRA keeps it, and the
 * retry-after pause on it. No row is a full bucket and no pause.
 */
export interface RateKeyRecord {
  key: string;
  /** The bucket's theoretical arrival time, ms since the epoch (fractional; at or before now: full). */
  tatMs: number;
  /** A run's retry-after holds every task of the key until then (ms since the epoch; 0: none). */
  pausedUntilMs: number;
  /** The run whose retry-after set `pausedUntilMs` ("" when none). */
  pausedBy: string;
}

export interface IdempotencyKey {
  requestId: string;
  taskId: string;
  specHash: string;
  createTimeMs: number;
}

// ---------------------------------------------------------------- list

export interface ListTasksParams {
  slot?: string;
  phases?: number[];
  runnerId?: string;
  /** Ids starting with this (a short id typed by a person). */
  idPrefix?: string;
  /** Keyset cursor: only tasks with an id below this. */
  beforeId?: string;
  /** Rows to return at most. */
  limit: number;
  /** Applied to each row the query returns; rows it rejects are skipped (label selectors). */
  accept?: (
    labels: Record<string, string>,
    row: { id: string; slot: string; phase: number; runnerId: string },
  ) => boolean;
  /** Rows `accept` may examine for this page; once spent, the page is cut short with a cursor (bounds its cost). */
  scanBudget?: number;
}

// Every page is also bounded in bytes (core/page-budget.ts MAX_PAGE_BYTES), so every default client can read it.

export interface TaskPage {
  /** The tasks, newest first: their stored bytes (sent as they are) and the revision of each. */
  items: { encoded: Uint8Array; revision: number }[];
  /** The id to continue below, when more may follow. */
  nextBeforeId?: string;
  /** The journal head this page was read at. */
  revision: number;
}

// ---------------------------------------------------------------- the write transaction

/** Everything a batch may need to read before it decides. */
export interface ReadKeys {
  tasks?: Iterable<string>;
  /** The owner of each slot (with its task). */
  slotOwners?: Iterable<string>;
  /** Each slot's queue: how many wait, and the oldest few. */
  slotQueues?: Iterable<string>;
  /** How many of each queue's oldest tasks to read (default 2). */
  slotQueueDepth?: number;
  idempotencyKeys?: Iterable<string>;
  runs?: Iterable<string>;
  runnerNames?: Iterable<string>;
  /** Keys' token buckets and pauses (rate_keys). */
  rateKeys?: Iterable<string>;
}

/** What a read found; a key asked for and not found maps to null. */
export interface Snapshot {
  tasks: Map<string, StoredTask | null>;
  slotOwners: Map<string, StoredTask | null>;
  /** Each queue's size and its oldest tasks (up to the depth read), oldest first. */
  slotQueues: Map<string, { count: number; oldest: StoredTask[] }>;
  idempotencyKeys: Map<string, IdempotencyKey | null>;
  runs: Map<string, Run | null>;
  runnerNames: Map<string, Runner | null>;
  /** For each runner found in `runnerNames`, by name: the server holding its stream (null: none). */
  runnerServers: Map<string, string | null>;
  rateKeys: Map<string, RateKeyRecord | null>;
}

export interface WriteTransaction {
  /** The first revision this transaction may give a change (head + 1 when it began). */
  readonly firstRevision: number;
  /** Reads committed state; may be called more than once (a decision that needs more). */
  read(keys: ReadKeys): Promise<Snapshot>;
}

/**
 * One task write; the backend stores the row and the journal entry of `change.revision`. ADDED of an
 * id already stored, or MODIFIED / DELETED of one that is not, fails the whole transaction.
 */
export interface TaskWrite {
  change: TaskChange;
  /** The task's slot state after the write (ignored for DELETED). */
  slotState: SlotState;
}

/** The writes of one transaction, applied in this order. */
export interface WriteSet {
  /** Task changes, in revision order, with consecutive revisions from `firstRevision`. */
  tasks: TaskWrite[];
  runs: Run[];
  /** Runs of a task up to an attempt, deleted with their output (run history bound). */
  prunedRuns: { taskId: string; throughAttempt: number }[];
  idempotencyKeys: IdempotencyKey[];
  outputChunks: OutputChunkRecord[];
  deletedChunks: { runId: string; seq: number }[];
  runners: RunnerWrite[];
  deletedRunners: string[];
  /** Keys' bucket times (rate_keys.tat_ms), a row made if none: a stored time is never moved back. */
  rateKeyTats: { key: string; tatMs: number }[];
  /** Retry-after pauses (rate_keys.paused_until_ms and paused_by): a stored pause that ends later stays. */
  keyPauses: { key: string; untilMs: number; byRunId: string }[];
  /** Keys whose bucket is full by this time and that no pause holds past it are deleted (their rows only). */
  expireRateKeysBeforeMs?: number;
  /** Idempotency keys created before this are deleted (at most `limit`). */
  expireIdempotencyKeys?: { beforeMs: number; limit: number };
  /** Journal entries at or below this revision are deleted; compactedThrough becomes it. */
  compactJournalThrough?: number;
  /**
   * A leader's write: the transaction commits only if this server holds the leader lease with
   * this epoch, checked after the revision counter is locked; otherwise it fails with NOT_LEADER
   * and writes nothing. Always true on a backend that is not shared (one server leads itself).
   */
  leaderEpoch?: number;
}

export interface TransactionPlan<R> {
  writes: WriteSet;
  result: R;
}

export const emptyWriteSet = (): WriteSet => ({
  tasks: [],
  runs: [],
  prunedRuns: [],
  idempotencyKeys: [],
  outputChunks: [],
  deletedChunks: [],
  runners: [],
  deletedRunners: [],
  rateKeyTats: [],
  keyPauses: [],
});

// ---------------------------------------------------------------- several servers (shared only)

/** How servers sharing one database elect a leader and see each other (PostgreSQL, shared). */
export interface ClusterStore {
  /** The leader lease, by the database's clock. */
  readonly leases: LeaseStore;
  /** Sets the address this server's row shows (host:port, once it listens). */
  announce(address: string): Promise<void>;
  /** Every server with a row, oldest first, with how long ago each heartbeated (the database's clock). */
  listServers(): Promise<ServerRecord[]>;
  /** Deletes a server's row (the leader, done with a dead server). */
  forgetServer(id: string): Promise<void>;
}

/** The leader lease row: one per database. Each call is one statement. */
export interface LeaseStore {
  /**
   * Takes the lease for `ttlMs` when nobody holds it, it expired, or this server holds it already
   * (a new term: the epoch grows). Resolves with the new epoch, or undefined when another server holds it.
   */
  elect(serverId: string, ttlMs: number): Promise<number | undefined>;
  /** Extends the lease by `ttlMs` from now if this server still holds it with `epoch`; false if not. */
  renew(serverId: string, epoch: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (marks it expired) if held with `epoch`, and tells the other servers at once. */
  resign(serverId: string, epoch: number): Promise<void>;
  /** The lease as stored (undefined before the first election). */
  current(): Promise<LeaseRecord | undefined>;
  /** Called when another server resigned: an election now would win. */
  onReleased(listener: () => void): () => void;
}

export interface LeaseRecord {
  serverId: string;
  epoch: number;
  /** Whether it is held now (not expired, by the database's clock). */
  held: boolean;
}

/** A server's row in the servers table. */
export interface ServerRecord {
  id: string;
  /** host:port it listens on, "" before it does. */
  address: string;
  host: string;
  pid: number;
  startedAtMs: number;
  heartbeatAtMs: number;
  /** ms since its last heartbeat, by the database's clock: a live server's stays near the heartbeat interval. */
  silentMs: number;
}

// ---------------------------------------------------------------- dispatch pauses

/**
 * Dispatch pauses as stored (DispatchService). Not part of the task journal: each is created or deleted
 * by one statement; the leader reads them all (at most a thousand) and holds back the tasks they match.
 */
export interface DispatchPauseStore {
  /** Stores a new pause; false (nothing written) when the id is taken. */
  create(pause: DispatchPause): Promise<boolean>;
  /** Deletes it; false when there was none. */
  delete(id: string): Promise<boolean>;
  get(id: string): Promise<DispatchPause | undefined>;
  /** Every pause, by id. */
  list(): Promise<DispatchPause[]>;
  count(): Promise<number>;
  /**
   * Called when another server created or deleted a pause (shared only; a notification, so it may be
   * lost: the leader also reads them again every few seconds).
   */
  onChanged(listener: () => void): () => void;
}

// ---------------------------------------------------------------- schedules

/**
 * Schedules as stored. Not part of the task journal (no revision, not watched): a client's change
 * and the scheduler's progress are separate columns, each written by one conditional statement, so
 * neither overwrites the other. Every method is one statement (or one short transaction).
 */
export interface ScheduleStore {
  /** Stores a new schedule; false (nothing written) when the id is taken. */
  create(row: ScheduleRow): Promise<boolean>;
  get(id: string): Promise<ScheduleRow | undefined>;
  /** Up to `limit` schedules with an id greater than `afterId`, by id. */
  list(afterId: string, limit: number): Promise<ScheduleRow[]>;
  /**
   * A client's change: replaces `definition`, `generation`, `updateMs` and the scheduler's `cursorMs`
   * and `nextDueMs` (a new spec or an unpause moves them), only if the stored generation is
   * `expectedGeneration`; false otherwise (or when it is gone). Keeps the counts and recent tasks.
   * The cursor never goes back: when a pass moved the stored one past `row.cursorMs` since the client
   * read the row, the stored one stays (its ticks are handled; `nextDueMs` is then early, never late:
   * it costs a pass that fires nothing).
   */
  update(row: ScheduleRow, expectedGeneration: number): Promise<boolean>;
  /** Deletes it; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Unpaused schedules with `nextDueMs <= nowMs`, soonest first, at most `limit`. */
  due(nowMs: number, limit: number): Promise<ScheduleRow[]>;
  /** The smallest `nextDueMs` of the unpaused schedules; undefined when none is due ever. */
  nextDueMs(): Promise<number | undefined>;
  /**
   * The scheduler's progress on one schedule, only if it still has `expected.generation` and
   * `expected.cursorMs` (else false: a client changed it, or another scheduler got there first;
   * read it again). Counts are added; recent task ids are put in front, the list kept at 10.
   */
  advance(id: string, expected: { generation: number; cursorMs: number }, progress: ScheduleProgress): Promise<boolean>;
  /** A TriggerSchedule's fire: adds the task to the recent ones and counts it (no condition). */
  recordTrigger(id: string, taskId: string, nominalMs: number): Promise<void>;
  /**
   * Called when another server created, changed or deleted a schedule (shared only; a notification,
   * so it may be lost: the scheduler also reads again now and then).
   */
  onChanged(listener: () => void): () => void;
}

/** One schedule as stored. */
export interface ScheduleRow {
  id: string;
  /**
   * What the client defined, as a Schedule message with only the client's fields set (id, spec, task,
   * overlap, catchup_window, paused, labels, note; task validated, defaults filled). Stored encoded.
   */
  definition: Schedule;
  generation: number;
  createMs: number;
  updateMs: number;
  /** Every tick with a nominal time at or before this was fired, skipped or counted missed. */
  cursorMs: number;
  /** The first tick after `cursorMs`; null when none is ever due (a named definition, past its end). */
  nextDueMs: number | null;
  /** Stored status (ScheduleStatus without next_fire_times, which is computed when read). */
  lastFireMs: number | null;
  /** Newest first, at most 10. */
  recentTaskIds: string[];
  missed: number;
  skipped: number;
  fired: number;
}

/** What one pass of the scheduler did for one schedule. */
export interface ScheduleProgress {
  cursorMs: number;
  nextDueMs: number | null;
  /** Nominal time of the newest tick fired in this pass (unchanged when none). */
  lastFireMs?: number;
  /** Tasks fired in this pass, newest first. */
  firedTaskIds: string[];
  missed: number;
  skipped: number;
}
