import type { Timer, Timers } from "@supervisor/sdk";

/**
 * One timer for every watcher's periodic BOOKMARK, instead of one timer per
 * watcher re-armed after every event.
 */
export class BookmarkTicker {
  private readonly listeners = new Set<() => void>();
  private timer: Timer | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly timers: Timers,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.timer ??= this.timers.every(this.intervalMs, () => {
      for (const notify of this.listeners) notify();
    });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.timer?.cancel();
        this.timer = undefined;
      }
    };
  }
}
