import type { Clock } from "../core/clock.js";
import { DomainError } from "../errors.js";
import type { ReadKeys, Snapshot, StorageBackend } from "./backend.js";
import { NeedsRead, WriteView } from "./decide/view.js";

/** One write: what it reads, and how it decides over what it read (pure: no side effects). */
export interface WriteRequest<R> {
  reads: ReadKeys;
  /** Throws a DomainError to refuse (only this request's changes are dropped). */
  decide(view: WriteView, nowMs: number): R;
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

  constructor(
    private readonly backend: StorageBackend,
    private readonly clock: Clock,
    private readonly maxBatch = 1000,
  ) {}

  run<R>(request: WriteRequest<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ request, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate (not a microtask) lets pending I/O — more requests — join this batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    let outcomes: Outcome[];
    try {
      outcomes = await this.backend.transact(async (tx) => {
        const view = new WriteView(
          await tx.read(mergeReads(batch.map((item) => item.request.reads))),
          tx.firstRevision,
        );
        const nowMs = this.clock.now();
        const decided: Outcome[] = [];
        for (const item of batch) decided.push(await decideOne(view, item.request, nowMs, tx.read));
        return { writes: view.writes, result: decided };
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
      outcomes = [];
    } finally {
      // The next batch starts once this one is committed (or failed): its reads see this one's writes.
      this.scheduled = this.queue.length > 0;
      if (this.scheduled) setImmediate(() => void this.flush());
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index];
      if (!outcome) return;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

async function decideOne(
  view: WriteView,
  request: WriteRequest<unknown>,
  nowMs: number,
  read: (keys: ReadKeys) => Promise<Snapshot>,
): Promise<Outcome> {
  for (let round = 0; ; round++) {
    view.begin();
    try {
      const value = request.decide(view, nowMs);
      view.commit();
      return { ok: true, value };
    } catch (error) {
      view.rollback();
      if (error instanceof DomainError) return { ok: false, error };
      if (!(error instanceof NeedsRead) || round >= MAX_READ_ROUNDS) throw error;
      view.extend(await read(error.keys));
    }
  }
}

/** One read for a whole batch: the union of every request's keys. */
export function mergeReads(all: readonly ReadKeys[]): ReadKeys {
  const merged = {
    tasks: new Set<string>(),
    slotOwners: new Set<string>(),
    slotQueues: new Set<string>(),
    idempotencyKeys: new Set<string>(),
    runs: new Set<string>(),
    runnerNames: new Set<string>(),
  };
  let slotQueueDepth: number | undefined;
  for (const keys of all) {
    for (const name of Object.keys(merged) as (keyof typeof merged)[]) {
      for (const key of keys[name] ?? []) merged[name].add(key);
    }
    if (keys.slotQueueDepth !== undefined) slotQueueDepth = Math.max(slotQueueDepth ?? 0, keys.slotQueueDepth);
  }
  return { ...merged, slotQueueDepth };
}
