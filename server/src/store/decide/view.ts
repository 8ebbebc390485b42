import { EventType, type Run, type RunnerInfo as Runner, Task } from "@supervisor/sdk";
import { encodeMessage } from "../../core/encode.js";
import { attributesOf } from "../../core/task-filter.js";
import type { SlotState } from "../../core/task-lifecycle.js";
import {
  emptyWriteSet,
  type IdempotencyKey,
  type OutputChunkRecord,
  type RateKeyRecord,
  type ReadKeys,
  type Snapshot,
  type StoredTask,
  type WriteSet,
} from "../backend.js";
import { followChild } from "./fan-out.js";

/**
 * A decision needs a row the batch did not read (e.g. the second-oldest task
 * of a slot queue once the oldest was promoted in the same batch). The group
 * commit reads it within the same transaction and decides that request again;
 * deciding is pure, so deciding again is safe.
 */
export class NeedsRead extends Error {
  override readonly name = "NeedsRead";
  constructor(readonly keys: ReadKeys) {
    super("the decision needs more rows");
  }
}

/** How many of a slot queue's oldest tasks a read returns at first. */
export const QUEUE_READ_DEPTH = 2;

interface Mark {
  tasks: number;
  runs: number;
  prunedRuns: number;
  idempotencyKeys: number;
  outputChunks: number;
  deletedChunks: number;
  runners: number;
  deletedRunners: number;
  rateKeyTats: number;
  keyPauses: number;
  expireRateKeysBeforeMs: WriteSet["expireRateKeysBeforeMs"];
  revision: number;
  undo: number;
  expireIdempotencyKeys: WriteSet["expireIdempotencyKeys"];
  compactJournalThrough: WriteSet["compactJournalThrough"];
  leaderEpoch: WriteSet["leaderEpoch"];
}

const EMPTY_MARK: Mark = {
  tasks: 0,
  runs: 0,
  prunedRuns: 0,
  idempotencyKeys: 0,
  outputChunks: 0,
  deletedChunks: 0,
  runners: 0,
  deletedRunners: 0,
  rateKeyTats: 0,
  keyPauses: 0,
  expireRateKeysBeforeMs: undefined,
  revision: 0,
  undo: 0,
  expireIdempotencyKeys: undefined,
  compactJournalThrough: undefined,
  leaderEpoch: undefined,
};

/** One overlay entry as it was before a request changed it, so a refused request can be undone. */
interface Undo {
  map: Map<string, unknown>;
  key: string;
  had: boolean;
  value: unknown;
}

/**
 * What one write transaction sees while it decides: the snapshot it read,
 * with the changes of the requests decided before in the same batch laid
 * over it — so two submits to one slot in one batch see each other. Each
 * request is decided between begin() and commit()/rollback(): a refused
 * request drops exactly its own changes (and its revisions: no gaps).
 */
export class WriteView {
  private readonly overlay = new Map<string, StoredTask | null>();
  private readonly keys = new Map<string, IdempotencyKey>();
  private readonly runRows = new Map<string, Run>();
  private readonly runnerRows = new Map<string, Runner | null>();
  /** The holder of each runner written in this batch, by name (undefined: the backend's default). */
  private readonly runnerHolders = new Map<string, string | null | undefined>();
  /** Keys' states as this batch has left them. */
  private readonly rateRows = new Map<string, RateKeyRecord>();
  /** Ids of the overlay's tasks by slot, so slot questions look at that slot's tasks only. */
  private readonly bySlot = new Map<string, readonly string[]>();
  private readonly out: WriteSet = emptyWriteSet();
  private readonly undo: Undo[] = [];
  private nextRevision: number;
  private mark: Mark | undefined;
  /** One mark object, reused by every request of the batch. */
  private saved: Mark | undefined;

  constructor(
    private snapshot: Snapshot,
    firstRevision: number,
  ) {
    this.nextRevision = firstRevision;
  }

  /** Adds what a further read found. */
  extend(more: Snapshot): void {
    for (const [name, map] of Object.entries(more) as [keyof Snapshot, Map<string, unknown>][]) {
      const into = this.snapshot[name] as Map<string, unknown>;
      for (const [key, value] of map) into.set(key, value);
    }
  }

  // ---- request boundaries ----

  begin(): void {
    const out = this.out;
    const mark = (this.saved ??= { ...EMPTY_MARK });
    mark.tasks = out.tasks.length;
    mark.runs = out.runs.length;
    mark.prunedRuns = out.prunedRuns.length;
    mark.idempotencyKeys = out.idempotencyKeys.length;
    mark.outputChunks = out.outputChunks.length;
    mark.deletedChunks = out.deletedChunks.length;
    mark.runners = out.runners.length;
    mark.deletedRunners = out.deletedRunners.length;
    mark.rateKeyTats = out.rateKeyTats.length;
    mark.keyPauses = out.keyPauses.length;
    mark.expireRateKeysBeforeMs = out.expireRateKeysBeforeMs;
    mark.revision = this.nextRevision;
    mark.undo = this.undo.length;
    mark.expireIdempotencyKeys = out.expireIdempotencyKeys;
    mark.compactJournalThrough = out.compactJournalThrough;
    mark.leaderEpoch = out.leaderEpoch;
    this.mark = mark;
  }

  commit(): void {
    this.mark = undefined;
    this.undo.length = 0;
  }

  /** Drops every change since begin(): the request was refused (or must be decided again). */
  rollback(): void {
    const mark = this.mark;
    if (!mark) return;
    const out = this.out;
    out.tasks.length = mark.tasks;
    out.runs.length = mark.runs;
    out.prunedRuns.length = mark.prunedRuns;
    out.idempotencyKeys.length = mark.idempotencyKeys;
    out.outputChunks.length = mark.outputChunks;
    out.deletedChunks.length = mark.deletedChunks;
    out.runners.length = mark.runners;
    out.deletedRunners.length = mark.deletedRunners;
    out.rateKeyTats.length = mark.rateKeyTats;
    out.keyPauses.length = mark.keyPauses;
    out.expireRateKeysBeforeMs = mark.expireRateKeysBeforeMs;
    out.expireIdempotencyKeys = mark.expireIdempotencyKeys;
    out.compactJournalThrough = mark.compactJournalThrough;
    out.leaderEpoch = mark.leaderEpoch;
    this.nextRevision = mark.revision;
    while (this.undo.length > mark.undo) {
      const { map, key, had, value } = this.undo.pop()!;
      if (had) map.set(key, value);
      else map.delete(key);
    }
    this.mark = undefined;
  }

  /** Sets an overlay entry, remembering what it was while a request is being decided. */
  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (this.mark) this.undo.push({ map: map as Map<string, unknown>, key, had: map.has(key), value: map.get(key) });
    map.set(key, value);
  }

  /** Everything decided and kept, for the backend to write. */
  get writes(): WriteSet {
    return this.out;
  }

  // ---- reads ----

  /** Whether the task's row is known here (read, or changed in this batch): task(id) will not need a read. */
  has(id: string): boolean {
    return this.overlay.has(id) || this.snapshot.tasks.has(id);
  }

  task(id: string): StoredTask | undefined {
    if (this.overlay.has(id)) return this.overlay.get(id) ?? undefined;
    const stored = this.snapshot.tasks.get(id);
    if (stored === undefined) throw new NeedsRead({ tasks: [id] });
    return stored ?? undefined;
  }

  /** The active task owning `slot`, as this batch has left it. */
  slotOwner(slot: string): StoredTask | undefined {
    for (const id of this.bySlot.get(slot) ?? []) {
      const entry = this.overlay.get(id);
      if (entry && entry.slotState === "owner") return entry;
    }
    const stored = this.snapshot.slotOwners.get(slot);
    if (stored === undefined) throw new NeedsRead({ slotOwners: [slot] });
    if (!stored) return undefined;
    // The stored owner may have given the slot up earlier in this batch.
    return this.overlay.has(stored.task.id) ? undefined : stored;
  }

  /** How many tasks wait in `slot`'s queue, and the oldest of them, as this batch has left it. */
  slotQueue(slot: string): { count: number; oldest: StoredTask | undefined } {
    const stored = this.snapshot.slotQueues.get(slot);
    if (stored === undefined) throw new NeedsRead({ slotQueues: [slot] });
    const queuedHere = (entry: StoredTask | null | undefined) =>
      entry?.slotState === "queued" && entry.task.spec!.slot === slot;
    let count = stored.count;
    let storedLeft = 0; // of the oldest read, how many still wait
    let oldest: StoredTask | undefined;
    const consider = (entry: StoredTask) => {
      if (!oldest || entry.task.id < oldest.task.id) oldest = entry;
    };
    const read = new Set<string>();
    for (const first of stored.oldest) {
      read.add(first.task.id);
      // As this batch has left it: still waiting (perhaps changed), or promoted, canceled or deleted.
      const entry = this.overlay.has(first.task.id) ? this.overlay.get(first.task.id) : first;
      if (queuedHere(entry)) {
        storedLeft++;
        consider(entry!);
      } else count--;
    }
    let added = 0;
    for (const id of this.bySlot.get(slot) ?? []) {
      if (read.has(id)) continue;
      const entry = this.overlay.get(id);
      const was = queuedHere(this.snapshot.tasks.get(id));
      const is = queuedHere(entry);
      if (was && !is) count--;
      if (is) {
        if (!was) count++;
        added++;
        consider(entry!);
      }
    }
    // Stored tasks wait that were not read: they are older than anything this batch queued.
    const unread = count - storedLeft - added;
    if (storedLeft === 0 && unread > 0) {
      throw new NeedsRead({ slotQueues: [slot], slotQueueDepth: stored.oldest.length + QUEUE_READ_DEPTH });
    }
    return { count, oldest };
  }

  idempotencyKey(requestId: string): IdempotencyKey | undefined {
    const written = this.keys.get(requestId);
    if (written) return written;
    const stored = this.snapshot.idempotencyKeys.get(requestId);
    if (stored === undefined) throw new NeedsRead({ idempotencyKeys: [requestId] });
    return stored ?? undefined;
  }

  run(id: string): Run | undefined {
    const written = this.runRows.get(id);
    if (written) return written;
    const stored = this.snapshot.runs.get(id);
    if (stored === undefined) throw new NeedsRead({ runs: [id] });
    return stored ?? undefined;
  }

  runnerByName(name: string): Runner | undefined {
    if (this.runnerRows.has(name)) return this.runnerRows.get(name) ?? undefined;
    const stored = this.snapshot.runnerNames.get(name);
    if (stored === undefined) throw new NeedsRead({ runnerNames: [name] });
    return stored ?? undefined;
  }

  /**
   * The server holding the named runner's stream (runners.server_id): null when none or no such
   * runner. For a runner written in this batch without a holder, the backend's default (RunnerWrite).
   */
  runnerServer(name: string): string | null | undefined {
    if (this.runnerRows.has(name)) return this.runnerRows.get(name) ? this.runnerHolders.get(name) : null;
    if (this.snapshot.runnerNames.get(name) === undefined) throw new NeedsRead({ runnerNames: [name] });
    return this.snapshot.runnerServers.get(name) ?? null;
  }

  /** A key's bucket and pause as this batch has left them (undefined: no row, a full bucket and no pause). */
  rateKey(key: string): RateKeyRecord | undefined {
    const stored = this.snapshot.rateKeys.get(key);
    if (stored === undefined) throw new NeedsRead({ rateKeys: [key] });
    const written = this.rateRows.get(key);
    return written ? laterOf(stored ?? emptyKey(key), written) : (stored ?? undefined);
  }

  // ---- writes ----

  /** Stores a new task (ADDED) with the next revision. */
  insertTask(task: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: this.nextRevision++ };
    this.recordTask(stored, slotState, EventType.EVENT_TYPE_ADDED, undefined);
    return stored;
  }

  /** Stores a changed task (MODIFIED) with the next revision; a fan-out child's parent follows it (same batch). */
  updateTask(task: Task, previous: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: this.nextRevision++ };
    this.recordTask(stored, slotState, EventType.EVENT_TYPE_MODIFIED, previous);
    if (task.parentId) followChild(this, previous, stored);
    return stored;
  }

  /** Deletes a task with its runs and output (DELETED) at the next revision. */
  deleteTask(task: Task): void {
    const deleted = { ...task, revision: this.nextRevision++ };
    const encoded = encodeMessage(Task, deleted);
    this.out.tasks.push({
      change: { revision: deleted.revision, type: EventType.EVENT_TYPE_DELETED, task: deleted, encoded },
      slotState: "none",
    });
    this.remember(this.overlay, task.id, null);
    this.touchSlot(task);
  }

  private recordTask(task: Task, slotState: SlotState, type: EventType, previous: Task | undefined): void {
    const encoded = encodeMessage(Task, task);
    this.out.tasks.push({
      change: { revision: task.revision, type, task, encoded, previous: previous && attributesOf(previous) },
      slotState,
    });
    this.remember(this.overlay, task.id, { task, slotState, encoded });
    this.touchSlot(task);
  }

  private touchSlot(task: Task): void {
    const slot = task.spec!.slot;
    if (!slot) return;
    const ids = this.bySlot.get(slot) ?? [];
    if (!ids.includes(task.id)) this.remember(this.bySlot, slot, [...ids, task.id]);
  }

  putRun(run: Run): void {
    this.out.runs.push(run);
    this.remember(this.runRows, run.id, run);
  }

  pruneRuns(taskId: string, throughAttempt: number): void {
    this.out.prunedRuns.push({ taskId, throughAttempt });
  }

  putIdempotencyKey(key: IdempotencyKey): void {
    this.out.idempotencyKeys.push(key);
    this.remember(this.keys, key.requestId, key);
  }

  addOutputChunk(chunk: OutputChunkRecord): void {
    this.out.outputChunks.push(chunk);
  }

  deleteOutputChunk(runId: string, seq: number): void {
    this.out.deletedChunks.push({ runId, seq });
  }

  /** Stores a runner's record; `serverId` is the server holding its stream (see RunnerWrite for the default). */
  putRunner(runner: Runner, serverId?: string | null): void {
    this.out.runners.push(serverId === undefined ? { runner } : { runner, serverId });
    this.remember(this.runnerRows, runner.name, runner);
    this.remember(this.runnerHolders, runner.name, serverId);
  }

  deleteRunner(runner: Runner): void {
    this.out.deletedRunners.push(runner.id);
    this.remember<Runner | null>(this.runnerRows, runner.name, null);
  }

  /** Moves a key's bucket time (never back: the later of the stored one and this wins). */
  putRateKeyTat(key: string, tatMs: number): void {
    this.out.rateKeyTats.push({ key, tatMs });
    this.addToKey({ ...emptyKey(key), tatMs });
  }

  /** A run's retry-after pauses the key until `untilMs` (a pause stored that ends later stays). */
  pauseKey(key: string, untilMs: number, byRunId: string): void {
    this.out.keyPauses.push({ key, untilMs, byRunId });
    this.addToKey({ ...emptyKey(key), pausedUntilMs: untilMs, pausedBy: byRunId });
  }

  /** Deletes the keys' rows that say nothing by `beforeMs`: a full bucket and no pause past it. */
  expireRateKeys(beforeMs: number): void {
    this.out.expireRateKeysBeforeMs = beforeMs;
  }

  /** What this batch wrote of a key, each value the later of the writes (as the store keeps them). */
  private addToKey(change: RateKeyRecord): void {
    const written = this.rateRows.get(change.key);
    this.remember(this.rateRows, change.key, written ? laterOf(written, change) : change);
  }

  expireIdempotencyKeys(beforeMs: number, limit: number): void {
    this.out.expireIdempotencyKeys = { beforeMs, limit };
  }

  compactJournalThrough(revision: number): void {
    this.out.compactJournalThrough = Math.max(this.out.compactJournalThrough ?? 0, revision);
  }

  /**
   * Makes the batch a leader's write: it commits only while this server holds the leader lease
   * with `epoch` (WriteSet.leaderEpoch). Dropped with the request that asked for it.
   */
  requireLeader(epoch: number): void {
    this.out.leaderEpoch = epoch;
  }
}

const emptyKey = (key: string): RateKeyRecord => ({ key, tatMs: 0, pausedUntilMs: 0, pausedBy: "" });

/** Two states of one key as the store merges them: the later bucket time, the pause that ends later. */
function laterOf(a: RateKeyRecord, b: RateKeyRecord): RateKeyRecord {
  const pause = b.pausedUntilMs > a.pausedUntilMs ? b : a;
  return {
    key: a.key,
    tatMs: Math.max(a.tatMs, b.tatMs),
    pausedUntilMs: pause.pausedUntilMs,
    pausedBy: pause.pausedBy,
  };
}
