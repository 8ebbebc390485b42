import { EventType, type Run, RunPhase } from "@supervisor/sdk";
import type { ReadKeys, Snapshot, StoredTask, WriteSet } from "./backend.js";

const isActive = (run: Run) => run.phase === RunPhase.RUN_PHASE_ASSIGNED || run.phase === RunPhase.RUN_PHASE_RUNNING;

/**
 * The task and run rows this process wrote last, so the next batch that
 * needs them does not read them back (a task is written three or four times
 * in its life, each time by a batch that first reads it). Valid only while
 * this process is the one writer of the database — SQLite's lock, and one
 * server on PostgreSQL — and only updated after a commit is known to be
 * done; an unknown outcome clears it.
 *
 * Bounded: the oldest written rows go first. Runs are kept while active
 * only (ended ones are not read again by the write path).
 */
export class RowCache {
  private readonly tasks = new Map<string, StoredTask>();
  private readonly runs = new Map<string, Run>();

  constructor(private readonly capacity: number) {}

  /** Reads through the cache: rows it holds come from memory, the rest from `read`. */
  async read(keys: ReadKeys, read: (keys: ReadKeys) => Promise<Snapshot>): Promise<Snapshot> {
    const hitTasks = new Map<string, StoredTask>();
    const hitRuns = new Map<string, Run>();
    const missTasks = keys.tasks && partition(keys.tasks, this.tasks, hitTasks);
    const missRuns = keys.runs && partition(keys.runs, this.runs, hitRuns);
    const snapshot = await read({ ...keys, tasks: missTasks, runs: missRuns });
    for (const [id, task] of hitTasks) snapshot.tasks.set(id, task);
    for (const [id, run] of hitRuns) snapshot.runs.set(id, run);
    return snapshot;
  }

  /** What a committed batch wrote. */
  remember(writes: WriteSet): void {
    for (const { change, slotState } of writes.tasks) {
      const id = change.task.id;
      this.tasks.delete(id); // re-inserted at the end: the newest written row goes last
      if (change.type !== EventType.EVENT_TYPE_DELETED && change.encoded)
        this.tasks.set(id, { task: change.task, slotState, encoded: change.encoded });
    }
    for (const run of writes.runs) {
      this.runs.delete(run.id);
      if (isActive(run)) this.runs.set(run.id, run);
    }
    evictOldest(this.tasks, this.capacity);
    evictOldest(this.runs, this.capacity);
  }

  /** A commit whose outcome is not known: nothing held can be trusted. */
  clear(): void {
    this.tasks.clear();
    this.runs.clear();
  }
}

/** The keys `cache` does not hold; the ones it does go into `hits`. */
function partition<V>(keys: Iterable<string>, cache: Map<string, V>, hits: Map<string, V>): string[] {
  const misses: string[] = [];
  for (const key of keys) {
    const value = cache.get(key);
    if (value === undefined) misses.push(key);
    else hits.set(key, value);
  }
  return misses;
}

function evictOldest<V>(map: Map<string, V>, capacity: number): void {
  if (map.size <= capacity) return;
  let excess = map.size - capacity;
  for (const key of map.keys()) {
    if (excess-- <= 0) break;
    map.delete(key);
  }
}
