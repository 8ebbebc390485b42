import { EventType, Task } from "@supervisor/sdk";
import type { TaskWrite } from "../backend.js";
import { asBuffer, SLOT_OWNER, slotStateCode, taskColumns } from "./rows.js";

/** Task rows as column arrays: one array per column, row i across them (bound to unnest(...)). */
export interface TaskRowColumns {
  id: string[];
  slot: (string | null)[];
  slotState: (number | null)[];
  phase: number[];
  runnerId: (string | null)[];
  priority: number[];
  readyTime: number[];
  labels: string[];
  finishTime: (number | null)[];
  revision: number[];
  task: Buffer[];
}

export interface JournalColumns {
  revision: number[];
  taskId: string[];
  type: number[];
  prevPhase: (number | null)[];
  prevRunnerId: (string | null)[];
  task: Buffer[];
}

/** What a batch's task changes do to the tasks table, one statement each, and the journal rows they add. */
export interface TaskChangePlan {
  /** Rows that were not stored before the batch and are after it. */
  inserts: TaskRowColumns;
  /** Rows stored before and after (their last state). */
  updates: TaskRowColumns;
  /** Rows stored before and not after; also those deleted and then added again (re-inserted after). */
  deletes: string[];
  /** Rows deleted and then added again within the batch, inserted once the deletes are done. */
  reinserts: TaskRowColumns;
  /**
   * Rows updated or deleted that own a slot before the batch (maybe) and not after it, in slots another row of the
   * batch takes: they let go first, in a statement of their own. PostgreSQL checks the one-owner-per-slot index
   * row by row, not at the end of the statement, so within one UPDATE the new owner's row may come first.
   */
  releases: string[];
  journal: JournalColumns;
  /** The revision of the last change (the head after the batch), or undefined with no changes. */
  lastRevision: number | undefined;
}

const emptyRows = (): TaskRowColumns => ({
  id: [],
  slot: [],
  slotState: [],
  phase: [],
  runnerId: [],
  priority: [],
  readyTime: [],
  labels: [],
  finishTime: [],
  revision: [],
  task: [],
});

function pushRow(into: TaskRowColumns, write: TaskWrite, encoded: Buffer): void {
  const columns = taskColumns(write.change.task, write.slotState);
  into.id.push(columns.id);
  into.slot.push(columns.slot);
  into.slotState.push(columns.slot_state);
  into.phase.push(columns.phase);
  into.runnerId.push(columns.runner_id);
  into.priority.push(columns.priority);
  into.readyTime.push(columns.ready_time);
  into.labels.push(columns.labels);
  into.finishTime.push(columns.finish_time);
  into.revision.push(columns.revision);
  into.task.push(encoded);
}

/** One task's changes within the batch. */
interface Track {
  storedBefore: boolean;
  storedNow: boolean;
  deletedOnce: boolean;
  last?: { write: TaskWrite; encoded: Buffer };
  /** The task's slot (a task's slot never changes), null without one. */
  slot: string | null;
}

const stale = (what: string) => new Error(`${what}: the batch was decided on stale state`);

/**
 * Folds a batch's task changes (in revision order, consecutive from `firstRevision`) into one
 * insert, one update and one delete of the tasks table plus the journal rows, so the batch costs a
 * few multi-row statements instead of one per change. A change that contradicts an earlier one of
 * the same batch (ADDED twice, MODIFIED after DELETED) is refused here; one that contradicts what
 * is stored (ADDED of a stored id, MODIFIED of a missing one) is refused by the database.
 */
export function planTaskChanges(writes: readonly TaskWrite[], firstRevision: number): TaskChangePlan {
  const plan: TaskChangePlan = {
    inserts: emptyRows(),
    updates: emptyRows(),
    deletes: [],
    reinserts: emptyRows(),
    releases: [],
    journal: { revision: [], taskId: [], type: [], prevPhase: [], prevRunnerId: [], task: [] },
    lastRevision: undefined,
  };
  const tracks = new Map<string, Track>();
  let expected = firstRevision;
  for (const write of writes) {
    const { change } = write;
    if (change.revision !== expected) {
      throw stale(`revision ${change.revision} out of order (expected ${expected})`);
    }
    expected++;
    const id = change.task.id;
    const added = change.type === EventType.EVENT_TYPE_ADDED;
    let track = tracks.get(id);
    if (!track) {
      const slot = taskColumns(change.task, write.slotState).slot;
      tracks.set(id, (track = { storedBefore: !added, storedNow: !added, deletedOnce: false, slot }));
    } else if (added === track.storedNow) {
      throw stale(added ? `task ${id} added twice in one batch` : `task ${id} changed after it was deleted`);
    }
    const encoded = asBuffer(change.encoded ?? Task.encode(change.task).finish());
    if (change.type === EventType.EVENT_TYPE_DELETED) {
      track.storedNow = false;
      track.deletedOnce = true;
      track.last = undefined;
    } else {
      track.storedNow = true;
      track.last = { write, encoded };
    }
    const journal = plan.journal;
    journal.revision.push(change.revision);
    journal.taskId.push(id);
    journal.type.push(change.type);
    journal.prevPhase.push(change.previous?.phase ?? null);
    journal.prevRunnerId.push(change.previous ? change.previous.runnerId : null);
    journal.task.push(encoded);
  }
  if (writes.length > 0) plan.lastRevision = expected - 1;
  for (const [id, track] of tracks) {
    const last = track.last;
    if (track.storedBefore && track.deletedOnce) plan.deletes.push(id);
    if (!last) continue;
    if (!track.storedBefore) pushRow(plan.inserts, last.write, last.encoded);
    else if (track.deletedOnce) pushRow(plan.reinserts, last.write, last.encoded);
    else pushRow(plan.updates, last.write, last.encoded);
  }
  const claimed = new Set<string>();
  for (const rows of [plan.inserts, plan.updates, plan.reinserts]) {
    for (let i = 0; i < rows.id.length; i++) if (rows.slotState[i] === SLOT_OWNER) claimed.add(rows.slot[i]!);
  }
  if (claimed.size > 0) {
    for (const [id, track] of tracks) {
      if (!track.storedBefore || track.slot === null || !claimed.has(track.slot)) continue;
      if (slotStateCode(track.last?.write.slotState ?? "none") !== SLOT_OWNER || track.deletedOnce) {
        plan.releases.push(id);
      }
    }
  }
  return plan;
}
