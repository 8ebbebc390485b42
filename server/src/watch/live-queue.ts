import type { TaskChange } from "../store/task-change.js";

/**
 * Changes committed while a watcher is live, waiting to be sent. Bounded: a
 * watcher that falls more than `limit` changes behind is marked overflowed
 * (and ended by its stream), so a slow consumer never grows server memory.
 */
export class LiveQueue {
  private items: TaskChange[] = [];
  private wake?: () => void;
  overflowed = false;

  constructor(private readonly limit: number) {}

  push(changes: readonly TaskChange[]): void {
    if (this.overflowed) return;
    if (this.items.length + changes.length > this.limit) {
      this.overflowed = true;
      this.items = [];
    } else {
      for (const change of changes) this.items.push(change);
    }
    this.wake?.();
  }

  /** Waits until changes arrive, `timeoutMs` passes ([] then) or `signal` aborts. */
  async take(signal: AbortSignal, timeoutMs: number): Promise<TaskChange[]> {
    if (this.items.length === 0 && !this.overflowed && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener("abort", done, { once: true });
        this.wake = done;
      });
    }
    const taken = this.items;
    this.items = [];
    return taken;
  }
}
