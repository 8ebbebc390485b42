import { EventType, type Run, type RunnerInfo as Runner, Task } from "@supervisor/sdk";
import { attributesOf } from "../../core/task-filter.js";
import type { SlotState } from "../../core/task-lifecycle.js";
import {
  emptyWriteSet,
  type IdempotencyKey,
  type OutputChunkRecord,
  type ReadKeys,
  type Snapshot,
  type StoredTask,
  type WriteSet,
} from "../backend.js";

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
  revision: number;
  overlay: Map<string, StoredTask | null>;
  keys: Map<string, IdempotencyKey>;
  runRows: Map<string, Run>;
  runnerRows: Map<string, Runner | null>;
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
  private readonly out: WriteSet = emptyWriteSet();
  private nextRevision: number;
  private mark: Mark | undefined;

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
    this.mark = {
      tasks: this.out.tasks.length,
      runs: this.out.runs.length,
      prunedRuns: this.out.prunedRuns.length,
      idempotencyKeys: this.out.idempotencyKeys.length,
      outputChunks: this.out.outputChunks.length,
      deletedChunks: this.out.deletedChunks.length,
      runners: this.out.runners.length,
      deletedRunners: this.out.deletedRunners.length,
      revision: this.nextRevision,
      overlay: new Map(this.overlay),
      keys: new Map(this.keys),
      runRows: new Map(this.runRows),
      runnerRows: new Map(this.runnerRows),
    };
  }

  commit(): void {
    this.mark = undefined;
  }

  rollback(): void {
    const mark = this.mark;
    if (!mark) return;
    this.out.tasks.length = mark.tasks;
    this.out.runs.length = mark.runs;
    this.out.prunedRuns.length = mark.prunedRuns;
    this.out.idempotencyKeys.length = mark.idempotencyKeys;
    this.out.outputChunks.length = mark.outputChunks;
    this.out.deletedChunks.length = mark.deletedChunks;
    this.out.runners.length = mark.runners;
    this.out.deletedRunners.length = mark.deletedRunners;
    this.nextRevision = mark.revision;
    restore(this.overlay, mark.overlay);
    restore(this.keys, mark.keys);
    restore(this.runRows, mark.runRows);
    restore(this.runnerRows, mark.runnerRows);
    this.mark = undefined;
  }

  /** Everything decided and kept, for the backend to write. */
  get writes(): WriteSet {
    return this.out;
  }

  // ---- reads ----

  task(id: string): StoredTask | undefined {
    if (this.overlay.has(id)) return this.overlay.get(id) ?? undefined;
    const stored = this.snapshot.tasks.get(id);
    if (stored === undefined) throw new NeedsRead({ tasks: [id] });
    return stored ?? undefined;
  }

  /** The active task owning `slot`, as this batch has left it. */
  slotOwner(slot: string): StoredTask | undefined {
    for (const entry of this.overlay.values()) {
      if (entry && entry.slotState === "owner" && entry.task.spec!.slot === slot) return entry;
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
    for (const entry of stored.oldest) {
      read.add(entry.task.id);
      if (!this.overlay.has(entry.task.id)) {
        storedLeft++;
        consider(entry);
      } else if (!queuedHere(this.overlay.get(entry.task.id))) count--; // promoted or canceled in this batch
    }
    let added = 0;
    for (const [id, entry] of this.overlay) {
      if (read.has(id)) continue;
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

  // ---- writes ----

  /** Stores a new task (ADDED) with the next revision. */
  insertTask(task: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: this.nextRevision++ };
    this.recordTask(stored, slotState, EventType.EVENT_TYPE_ADDED, undefined);
    return stored;
  }

  /** Stores a changed task (MODIFIED) with the next revision. */
  updateTask(task: Task, previous: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: this.nextRevision++ };
    this.recordTask(stored, slotState, EventType.EVENT_TYPE_MODIFIED, previous);
    return stored;
  }

  /** Deletes a task with its runs and output (DELETED) at the next revision. */
  deleteTask(task: Task): void {
    const deleted = { ...task, revision: this.nextRevision++ };
    const encoded = Task.encode(deleted).finish();
    this.out.tasks.push({
      change: { revision: deleted.revision, type: EventType.EVENT_TYPE_DELETED, task: deleted, encoded },
      slotState: "none",
    });
    this.overlay.set(task.id, null);
  }

  private recordTask(task: Task, slotState: SlotState, type: EventType, previous: Task | undefined): void {
    const encoded = Task.encode(task).finish();
    this.out.tasks.push({
      change: { revision: task.revision, type, task, encoded, previous: previous && attributesOf(previous) },
      slotState,
    });
    this.overlay.set(task.id, { task, slotState, encoded });
  }

  putRun(run: Run): void {
    this.out.runs.push(run);
    this.runRows.set(run.id, run);
  }

  pruneRuns(taskId: string, throughAttempt: number): void {
    this.out.prunedRuns.push({ taskId, throughAttempt });
  }

  putIdempotencyKey(key: IdempotencyKey): void {
    this.out.idempotencyKeys.push(key);
    this.keys.set(key.requestId, key);
  }

  addOutputChunk(chunk: OutputChunkRecord): void {
    this.out.outputChunks.push(chunk);
  }

  deleteOutputChunk(runId: string, seq: number): void {
    this.out.deletedChunks.push({ runId, seq });
  }

  putRunner(runner: Runner): void {
    this.out.runners.push(runner);
    this.runnerRows.set(runner.name, runner);
  }

  deleteRunner(runner: Runner): void {
    this.out.deletedRunners.push(runner.id);
    this.runnerRows.set(runner.name, null);
  }

  expireIdempotencyKeys(beforeMs: number, limit: number): void {
    this.out.expireIdempotencyKeys = { beforeMs, limit };
  }

  compactJournalThrough(revision: number): void {
    this.out.compactJournalThrough = Math.max(this.out.compactJournalThrough ?? 0, revision);
  }
}

function restore<K, V>(map: Map<K, V>, saved: Map<K, V>): void {
  map.clear();
  for (const [key, value] of saved) map.set(key, value);
}

