import type { TaskChange } from "../store/backend.js";
import type { WatchOutput } from "./watch-event.js";

/**
 * Events committed while a watcher is live, waiting to be sent. Changes are
 * filtered as they arrive, so only events this watcher will receive count
 * toward its bound and wake it. A watcher more than `limit` events behind is
 * marked overflowed (and ended by its stream): a slow consumer never grows
 * server memory.
 */
export class LiveQueue {
  private items: { output: WatchOutput; revision: number }[] = [];
  private wake?: () => void;
  overflowed = false;
  /** The newest revision this queue has seen, matching or not. */
  headRevision: number;
  bookmarkDue = false;

  constructor(
    private readonly limit: number,
    private readonly select: (change: TaskChange) => WatchOutput | undefined,
    headRevision: number,
  ) {
    this.headRevision = headRevision;
  }

  push(changes: readonly TaskChange[]): void {
    if (this.overflowed) return;
    let added = false;
    for (const change of changes) {
      this.headRevision = Math.max(this.headRevision, change.revision);
      const output = this.select(change);
      if (!output) continue;
      if (this.items.length >= this.limit) {
        this.overflowed = true;
        this.items = [];
        break;
      }
      this.items.push({ output, revision: change.revision });
      added = true;
    }
    if (added || this.overflowed) this.wake?.();
  }

  /** Asks for a BOOKMARK at the next quiet moment (the shared ticker calls this). */
  requestBookmark(): void {
    this.bookmarkDue = true;
    this.wake?.();
  }

  /** Waits until events arrive, a bookmark is due, or `signal` aborts. */
  async take(signal: AbortSignal): Promise<{ output: WatchOutput; revision: number }[]> {
    if (this.items.length === 0 && !this.overflowed && !this.bookmarkDue && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.wake = undefined;
          resolve();
        };
        signal.addEventListener("abort", done, { once: true });
        this.wake = done;
      });
    }
    const taken = this.items;
    this.items = [];
    return taken;
  }
}
