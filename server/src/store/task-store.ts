import { EventType, type Task, type TaskPhase } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { IdGenerator } from "../core/ids.js";
import { PageBudget, pagePrefix } from "../core/page-budget.js";
import { attributesOf, type CompiledFilter, matchesFilter } from "../core/task-filter.js";
import type { SlotState } from "../core/task-lifecycle.js";
import type { Db } from "../db/open.js";
import { deleteTask } from "../db/queries/expired-tasks.js";
import { getTask } from "../db/queries/get-task.js";
import { insertJournalEntry } from "../db/queries/insert-journal-entry.js";
import { insertTask } from "../db/queries/insert-task.js";
import { getMeta, journalHead } from "../db/queries/journal-head.js";
import { listTasks } from "../db/queries/list-tasks.js";
import { newestTaskId } from "../db/queries/newest-task-id.js";
import { decodeTask, encodeTask, slotStateOf, type TaskRow, toTaskRow } from "../db/queries/task-row.js";
import { updateTask } from "../db/queries/update-task.js";
import type { TaskChange } from "./task-change.js";

export type ChangeListener = (changes: readonly TaskChange[]) => void;

/** Rows a label-selector page may scan before it returns a short page with a token (bounds the cost of a page). */
const SELECTOR_SCAN_BUDGET = 5_000;

/**
 * The task table and its journal. Every write goes through `transaction` (or
 * a nested `savepoint`): each change takes the next revision and writes its
 * journal row in the same transaction, and listeners hear about changes only
 * once they are committed. better-sqlite3 is synchronous and this process is
 * the only writer, so the in-memory revision counter cannot race.
 */
export class TaskStore {
  readonly ids: IdGenerator;
  private committedHead: number;
  private nextRevision: number;
  private pending: TaskChange[] = [];
  private depth = 0;
  private readonly listeners = new Set<ChangeListener>();
  /** One better-sqlite3 transaction function, made once: called inside another it becomes a savepoint. */
  private readonly inTransaction: <T>(work: () => T) => T;

  constructor(
    readonly db: Db,
    readonly clock: Clock,
  ) {
    const run = db.transaction((work: () => unknown) => work());
    this.inTransaction = <T>(work: () => T) => run(work) as T;
    this.committedHead = journalHead(db);
    this.nextRevision = this.committedHead + 1;
    this.ids = new IdGenerator(() => clock.now(), newestTaskId(db));
  }

  /** The newest committed revision. */
  get head(): number {
    return this.committedHead;
  }

  /** Revisions at or below this were compacted away. */
  get compactedThrough(): number {
    return getMeta(this.db, "compacted_through");
  }

  onCommit(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `work` in one transaction; on commit, publishes its changes in revision order. */
  transaction<T>(work: () => T): T {
    if (this.depth > 0) return this.savepoint(work);
    this.depth++;
    try {
      const result = this.inTransaction(work);
      const committed = this.pending;
      this.pending = [];
      this.committedHead = this.nextRevision - 1;
      if (committed.length > 0) for (const listener of this.listeners) listener(committed);
      return result;
    } catch (error) {
      this.pending = [];
      this.nextRevision = this.committedHead + 1;
      throw error;
    } finally {
      this.depth--;
    }
  }

  /** Runs `work` in a savepoint of the current transaction; if it throws, its changes are undone. */
  savepoint<T>(work: () => T): T {
    const mark = { changes: this.pending.length, revision: this.nextRevision };
    this.depth++;
    try {
      return this.inTransaction(work);
    } catch (error) {
      this.pending.length = mark.changes;
      this.nextRevision = mark.revision;
      throw error;
    } finally {
      this.depth--;
    }
  }

  getRow(id: string): TaskRow | undefined {
    return getTask(this.db, id);
  }

  get(id: string): Task | undefined {
    const row = getTask(this.db, id);
    return row && decodeTask(row.task);
  }

  slotStateOf(row: TaskRow): SlotState {
    return slotStateOf(row.slot_state);
  }

  /** Stores a new task (ADDED). Must run inside a transaction. */
  insert(task: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: this.nextRevision++ };
    const row = toTaskRow(stored, slotState);
    insertTask(this.db, row);
    this.record({ revision: stored.revision, type: EventType.EVENT_TYPE_ADDED, task: stored }, row.task);
    return stored;
  }

  /** Stores a changed task (MODIFIED). Must run inside a transaction. */
  update(task: Task, previous: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: this.nextRevision++ };
    const row = toTaskRow(stored, slotState);
    updateTask(this.db, row);
    this.record(
      {
        revision: stored.revision,
        type: EventType.EVENT_TYPE_MODIFIED,
        task: stored,
        previous: attributesOf(previous),
      },
      row.task,
    );
    return stored;
  }

  /** Deletes a task with its runs and output (DELETED). Must run inside a transaction. */
  remove(task: Task): void {
    const revision = this.nextRevision++;
    deleteTask(this.db, task.id);
    const deleted = { ...task, revision };
    this.record({ revision, type: EventType.EVENT_TYPE_DELETED, task: deleted }, encodeTask(deleted));
  }

  /** Writes the journal row; `encoded` is the task's protobuf, already made for its own row. */
  private record(change: TaskChange, encoded: Buffer): void {
    insertJournalEntry(this.db, {
      revision: change.revision,
      task_id: change.task.id,
      type: change.type,
      time: this.clock.now(),
      prev_phase: change.previous?.phase ?? null,
      prev_runner_id: change.previous ? change.previous.runnerId : null,
      task: encoded,
    });
    change.encoded = encoded;
    this.pending.push(change);
  }

  /**
   * One page of tasks matching `filter`, newest first, strictly older than
   * `beforeId`, as their stored rows: callers send the stored protobuf as is
   * (a page costs no decode and no re-encode). `nextBeforeId` is set when more
   * may follow. With a label selector at most SELECTOR_SCAN_BUDGET rows are
   * examined, so a page may be short but still carry a cursor (AIP-158).
   */
  list(
    filter: CompiledFilter,
    beforeId: string | undefined,
    pageSize: number,
  ): { rows: TaskRow[]; nextBeforeId?: string } {
    const query = { slot: filter.slot, phases: filter.phases, runnerId: filter.runnerId, idPrefix: filter.idPrefix };
    if (!filter.selector) {
      const rows = listTasks(this.db, { ...query, beforeId, limit: pageSize + 1 });
      const page = pagePrefix(rows, pageSize, (row) => row.task.length);
      return { rows: page, nextBeforeId: page.length < rows.length ? page.at(-1)!.id : undefined };
    }
    const budget = new PageBudget(pageSize);
    const page: TaskRow[] = [];
    let cursor = beforeId;
    let scanned = 0;
    const batch = Math.max(pageSize * 2, 100);
    while (scanned < SELECTOR_SCAN_BUDGET) {
      const rows = listTasks(this.db, { ...query, beforeId: cursor, limit: batch });
      for (const row of rows) {
        scanned++;
        cursor = row.id;
        const labels = JSON.parse(row.labels) as Record<string, string>;
        if (
          !matchesFilter(filter, {
            id: row.id,
            slot: row.slot ?? "",
            labels,
            phase: row.phase as TaskPhase,
            runnerId: row.runner_id ?? "",
          })
        )
          continue;
        // Too big for this page: the next starts with it.
        if (!budget.take(row.task.length)) return { rows: page, nextBeforeId: page.at(-1)!.id };
        page.push(row);
        if (budget.full) {
          const more = rows.length === batch || row !== rows[rows.length - 1];
          return { rows: page, nextBeforeId: more ? row.id : undefined };
        }
      }
      if (rows.length < batch) return { rows: page };
    }
    return { rows: page, nextBeforeId: cursor };
  }
}
