import type { Clock } from "../core/clock.js";
import { DomainError } from "../errors.js";
import type { ReadKeys, Snapshot, StorageBackend, WriteSet } from "./backend.js";
import { NeedsRead, WriteView } from "./decide/view.js";
import type { RowCache } from "./row-cache.js";

/** One write: what it reads, and how it decides over what it read (pure: no side effects). */
export interface WriteRequest<R> {
  reads: ReadKeys;
  /** Throws a DomainError to refuse (only this request's changes are dropped). */
  decide(view: WriteView, nowMs: number): R;
}

/**
 * Work that rides along with every batch, decided after the batch's requests
 * over the same view, committed with them (the dispatcher: assigns go out in
 * the commit of the submit or the end that made them possible, not in one of
 * their own). A stage must not change anything outside the view until it is
 * told how the commit went.
 */
export interface CommitStage<P> {
  /** Whether a batch should run for this stage alone (no request waiting). */
  hasWork(): boolean;
  /** Adds the stage's decisions to the view (each between view.begin() and commit()/rollback()). */
  decide(view: WriteView, nowMs: number, read: (keys: ReadKeys) => Promise<Snapshot>): Promise<P>;
  /** The batch is committed and published (before its requests are answered). */
  committed(plan: P): void;
  /** The batch failed: nothing of it was written. */
  failed(plan: P | undefined, error: unknown): void;
}

/** Told how each batch went (metrics): after its commit, before its requests are answered. */
export interface CommitObserver {
  committed(writes: WriteSet, requests: number, seconds: number): void;
  failed(requests: number, seconds: number): void;
}

interface Queued {
  request: WriteRequest<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A request that keeps asking for rows it did not get is a bug, not a reason to loop. */
const MAX_READ_ROUNDS = 8;

/**
 * Group commit: writes that arrive while the event loop is busy share one
 * transaction, so one fsync covers them all, and each caller is answered only
 * after the shared commit. A batch reads what all its requests need in one
 * round trip, decides them one by one over that snapshot plus the changes of
 * the requests before it, and hands the backend the writes. A refused request
 * (SLOT_BUSY, …) drops only its own changes; a failed commit fails every
 * request of the batch (none was acknowledged).
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly stages: CommitStage<unknown>[] = [];

  constructor(
    private readonly backend: StorageBackend,
    private readonly clock: Clock,
    private readonly maxBatch = 1000,
    /** Rows this process wrote, read from memory (only when it is the database's one writer). */
    private readonly cache?: RowCache,
    private readonly observer?: CommitObserver,
  ) {}

  /** Adds a stage to every batch from now on, after the ones added before. */
  addStage<P>(stage: CommitStage<P>): void {
    this.stages.push(stage as CommitStage<unknown>);
  }

  run<R>(request: WriteRequest<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ request, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** A stage has work: a batch runs soon even if no request comes. */
  kick(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate (not a microtask) lets pending I/O — more requests — join this batch.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    const stages = this.stages.filter((stage) => batch.length > 0 || stage.hasWork());
    if (batch.length === 0 && stages.length === 0) {
      this.scheduled = false;
      return;
    }
    const plans: unknown[] = [];
    let outcomes: Outcome[] = [];
    let committed = false;
    let written: WriteSet | undefined;
    const startedMs = performance.now();
    try {
      outcomes = await this.backend.transact(async (tx) => {
        const cache = this.cache;
        const read = cache ? (keys: ReadKeys) => cache.read(keys, tx.read) : tx.read;
        const view = new WriteView(await read(mergeReads(batch.map((item) => item.request.reads))), tx.firstRevision);
        const nowMs = this.clock.now();
        const decided: Outcome[] = [];
        for (const item of batch) {
          // Decided synchronously; only a request that needs more rows waits for a read.
          const outcome = decide(view, item.request, nowMs);
          decided.push(
            outcome instanceof NeedsRead ? await decideAfterReads(view, item.request, nowMs, outcome, read) : outcome,
          );
        }
        for (const stage of stages) plans.push(await stage.decide(view, nowMs, read));
        written = view.writes;
        return { writes: view.writes, result: decided };
      });
      committed = true;
      if (written) this.cache?.remember(written);
    } catch (error) {
      this.observer?.failed(batch.length, (performance.now() - startedMs) / 1000);
      this.cache?.clear();
      stages.forEach((stage, index) => {
        stage.failed(plans[index], error);
      });
      for (const item of batch) item.reject(error);
    } finally {
      // The next batch starts once this one is committed (or failed): its reads see this one's writes.
      this.scheduled = false;
      if (this.queue.length > 0 || this.stages.some((stage) => stage.hasWork())) this.schedule();
    }
    if (committed && written) this.observer?.committed(written, batch.length, (performance.now() - startedMs) / 1000);
    // The stages first: an assign goes out before the submit that made it possible is answered.
    if (committed)
      stages.forEach((stage, index) => {
        stage.committed(plans[index]);
      });
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (!outcome) return;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

/** Decides one request: its outcome, or the rows it still needs (its changes undone). */
function decide(view: WriteView, request: WriteRequest<unknown>, nowMs: number): Outcome | NeedsRead {
  view.begin();
  try {
    const value = request.decide(view, nowMs);
    view.commit();
    return { ok: true, value };
  } catch (error) {
    view.rollback();
    if (error instanceof DomainError) return { ok: false, error };
    if (error instanceof NeedsRead) return error;
    throw error;
  }
}

/** Reads what a request needs, within the same transaction, and decides it again (deciding is pure). */
async function decideAfterReads(
  view: WriteView,
  request: WriteRequest<unknown>,
  nowMs: number,
  needs: NeedsRead,
  read: (keys: ReadKeys) => Promise<Snapshot>,
): Promise<Outcome> {
  for (let round = 0; round < MAX_READ_ROUNDS; round++) {
    view.extend(await read(needs.keys));
    const outcome = decide(view, request, nowMs);
    if (!(outcome instanceof NeedsRead)) return outcome;
    needs = outcome;
  }
  throw needs;
}

/** One read for a whole batch: the union of every request's keys. */
export function mergeReads(all: readonly ReadKeys[]): ReadKeys {
  const merged: Record<Exclude<keyof ReadKeys, "slotQueueDepth">, Set<string>> = {
    tasks: new Set(),
    slotOwners: new Set(),
    slotQueues: new Set(),
    idempotencyKeys: new Set(),
    runs: new Set(),
    runnerNames: new Set(),
    rateKeys: new Set(),
  };
  let slotQueueDepth: number | undefined;
  for (const keys of all) {
    for (const name in keys) {
      if (name === "slotQueueDepth") {
        slotQueueDepth = Math.max(slotQueueDepth ?? 0, keys.slotQueueDepth ?? 0);
        continue;
      }
      const into = merged[name as keyof typeof merged];
      for (const key of keys[name as keyof typeof merged] ?? []) into.add(key);
    }
  }
  return { ...merged, slotQueueDepth };
}
