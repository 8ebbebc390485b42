import type { TaskChange } from "./backend.js";

interface Waiter {
  revision: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Hands committed task changes to the listeners in revision order, each exactly once, with no gap —
 * whoever brings them and in whatever order they come. When several servers share the database a
 * server's changes come from two places: its own commits, and the journal tail (the other servers'
 * commits, and its own read back). A batch that starts past the next revision waits here until the
 * batches before it are offered; one that overlaps what was published loses the overlap.
 */
export class OrderedPublisher {
  /** Batches ahead of the head, waiting for the ones before them; sorted by first revision. */
  private readonly ahead: TaskChange[][] = [];
  private waiters: Waiter[] = [];
  private failure: unknown;

  constructor(
    /** The newest revision published (at open: the head). */
    private published: number,
    private readonly deliver: (changes: readonly TaskChange[]) => void,
  ) {}

  /** The newest revision published: every change up to it reached the listeners. */
  get head(): number {
    return this.published;
  }

  /** Offers committed changes (consecutive revisions); publishes whatever now follows on from the head. */
  offer(changes: readonly TaskChange[]): void {
    if (this.failure !== undefined) return;
    const fresh = freshPart(changes, this.published);
    if (fresh.length === 0) return;
    if (fresh[0]!.revision > this.published + 1) {
      this.wait(fresh);
      return;
    }
    try {
      this.publish(fresh);
      while (this.ahead.length > 0) {
        const next = freshPart(this.ahead[0]!, this.published);
        if (next.length > 0 && next[0]!.revision > this.published + 1) break;
        this.ahead.shift();
        if (next.length > 0) this.publish(next);
      }
    } finally {
      // A listener that threw does not leave the commits that were published waiting.
      this.settle();
    }
  }

  /** Resolves once everything up to `revision` is published (rejects if publishing failed for good). */
  until(revision: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (revision <= this.published) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ revision, resolve, reject }));
  }

  /** The changes after the head can never be delivered in order: every waiter hears why, nothing more is published. */
  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.ahead.length = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Why publishing stopped for good, if it did. */
  get failed(): unknown {
    return this.failure;
  }

  private publish(changes: readonly TaskChange[]): void {
    this.published = changes.at(-1)!.revision;
    this.deliver(changes);
  }

  private wait(changes: readonly TaskChange[]): void {
    const first = changes[0]!.revision;
    const at = this.ahead.findIndex((batch) => batch[0]!.revision > first);
    this.ahead.splice(at === -1 ? this.ahead.length : at, 0, [...changes]);
  }

  private settle(): void {
    if (!this.waiters.some((waiter) => waiter.revision <= this.published)) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.revision <= this.published) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }
}

/** The changes after `published` (a batch is consecutive, so a suffix). */
function freshPart(changes: readonly TaskChange[], published: number): readonly TaskChange[] {
  const first = changes[0];
  if (!first || first.revision > published) return changes;
  return changes.slice(published - first.revision + 1);
}
