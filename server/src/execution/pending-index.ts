import type { TaskRequirements } from "../core/routing.js";

/** A task waiting to be dispatched, with what routing needs. */
export interface PendingEntry extends TaskRequirements {
  taskId: string;
  priority: number;
  /** Not before this time (ms): not_before or the end of a backoff. */
  readyAtMs: number;
  slot: string;
}

const before = (a: PendingEntry, b: PendingEntry): boolean =>
  a.priority !== b.priority
    ? a.priority > b.priority
    : a.readyAtMs !== b.readyAtMs
      ? a.readyAtMs < b.readyAtMs
      : a.taskId < b.taskId;

/**
 * Dispatchable tasks in dispatch order — priority desc, then ready time,
 * then id (submit order) — kept sorted on insert so a dispatch pass is a
 * plain walk. Rebuilt from SQLite at start-up; fed by committed changes.
 */
export class PendingIndex {
  private readonly entries: PendingEntry[] = [];
  private readonly byId = new Map<string, PendingEntry>();

  get size(): number {
    return this.entries.length;
  }

  has(taskId: string): boolean {
    return this.byId.has(taskId);
  }

  upsert(entry: PendingEntry): void {
    this.remove(entry.taskId);
    const at = this.positionOf(entry);
    this.entries.splice(at, 0, entry);
    this.byId.set(entry.taskId, entry);
  }

  remove(taskId: string): void {
    const entry = this.byId.get(taskId);
    if (!entry) return;
    this.byId.delete(taskId);
    // Entries are unique in sort order (the id breaks ties), so binary search finds it.
    this.entries.splice(this.positionOf(entry), 1);
  }

  /** The entry at `index` in dispatch order, for a walk that removes as it goes (no copy). */
  at(index: number): PendingEntry | undefined {
    return this.entries[index];
  }

  /** First index whose entry does not sort before `entry`. */
  private positionOf(entry: PendingEntry): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (before(this.entries[mid]!, entry)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
