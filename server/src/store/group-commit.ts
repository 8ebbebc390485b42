import { DomainError } from "../errors.js";
import type { TaskStore } from "./task-store.js";

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes that arrive while the event loop is busy share one
 * transaction, so one fsync covers them all, and each caller is answered only
 * after the shared commit. A refused write (SLOT_BUSY, ...) must roll back
 * alone: the batch is then replayed with a savepoint per write (writes are
 * re-runnable closures over the store). A failure of the commit itself (disk
 * full) fails every write in it: none was acknowledged.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly store: TaskStore,
    private readonly maxBatch = 1000,
  ) {}

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate (not a microtask) lets pending I/O — more requests — join this batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.queue.splice(0, this.maxBatch);
    this.scheduled = this.queue.length > 0;
    if (this.scheduled) setImmediate(() => this.flush());
    let outcomes: Outcome[];
    try {
      // The common case: every write goes through, so no savepoint is needed.
      outcomes = this.store.transaction(() => batch.map((item): Outcome => ({ ok: true, value: item.work() })));
    } catch (error) {
      if (!(error instanceof DomainError)) {
        this.failAll(batch, error);
        return;
      }
      // A write was refused and the whole batch rolled back: run it again, each write in its own savepoint.
      try {
        outcomes = this.withSavepoints(batch);
      } catch (replayError) {
        this.failAll(batch, replayError);
        return;
      }
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  private withSavepoints(batch: Pending[]): Outcome[] {
    return this.store.transaction(() =>
      batch.map((item): Outcome => {
        try {
          return { ok: true, value: this.store.savepoint(item.work) };
        } catch (error) {
          if (!(error instanceof DomainError)) throw error; // not the request's fault: fail the commit
          return { ok: false, error };
        }
      }),
    );
  }

  private failAll(batch: Pending[], error: unknown): void {
    for (const item of batch) item.reject(error);
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
