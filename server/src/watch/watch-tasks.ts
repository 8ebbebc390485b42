import { status } from "@grpc/grpc-js";
import { ErrorReason, EventType, type WatchTasksRequest, type WatchTasksResponse } from "@supervisor/sdk";
import type { CompiledFilter } from "../core/task-filter.js";
import { readJournal } from "../db/queries/read-journal.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { TaskStore } from "../store/task-store.js";
import type { BookmarkTicker } from "./bookmark-ticker.js";
import { LiveQueue } from "./live-queue.js";
import { addedEvent, changeFromJournal, eventFor, type WatchOutput } from "./watch-event.js";

export interface WatchSettings {
  /** The shared timer of periodic BOOKMARKs. */
  bookmarks: BookmarkTicker;
  /** Changes a watcher may fall behind before it is ended with WATCH_TOO_SLOW. */
  maxLagChanges: number;
}

const REPLAY_BATCH = 500;

const revisionCompacted = (since: number, oldest: number) =>
  new DomainError(
    status.OUT_OF_RANGE,
    ErrorReason.REVISION_COMPACTED,
    `revision ${since} is older than the journal keeps (oldest ${oldest}); ` +
      "list again and watch from the list's revision",
    { oldest_revision: String(oldest), since_revision: String(since) },
  );

const bookmark = (revision: number): WatchTasksResponse => ({ type: EventType.EVENT_TYPE_BOOKMARK, revision });

/**
 * WatchTasks: optional initial snapshot, then the journal replayed from the
 * cursor out of SQLite, a BOOKMARK, then live changes. The switch to live happens in the
 * same synchronous tick as the last journal read, so no commit can fall
 * between them: no gap and no duplicate at the seam.
 */
export async function* watchTasks(
  store: TaskStore,
  request: WatchTasksRequest,
  filter: CompiledFilter,
  signal: AbortSignal,
  settings: WatchSettings,
): AsyncGenerator<WatchOutput> {
  let cursor: number;
  if (request.sendInitial) {
    cursor = store.head;
    let before: string | undefined;
    do {
      const page = store.list(filter, before, REPLAY_BATCH);
      for (const row of page.rows) yield addedEvent(row.task, row.revision);
      before = page.nextBeforeId;
    } while (before !== undefined && !signal.aborted);
  } else {
    cursor = request.sinceRevision || store.head;
    if (cursor > store.head) {
      throw invalidArgument([
        { field: "since_revision", description: `revision ${cursor} is newer than the head (${store.head})` },
      ]);
    }
  }
  if (cursor < store.compactedThrough) throw revisionCompacted(cursor, store.compactedThrough + 1);

  const queue = new LiveQueue(settings.maxLagChanges, (change) => eventFor(change, filter), cursor);
  let unsubscribe: (() => void) | undefined;
  let stopBookmarks: (() => void) | undefined;
  try {
    while (!unsubscribe) {
      const rows = readJournal(store.db, cursor, REPLAY_BATCH);
      // Caught up: subscribe before anything else can commit (we hold the only thread).
      if (rows.length < REPLAY_BATCH) unsubscribe = store.onCommit((changes) => queue.push(changes));
      for (const row of rows) {
        const event = eventFor(changeFromJournal(row), filter);
        cursor = row.revision;
        if (event) yield event;
      }
      if (signal.aborted) return;
    }
    queue.headRevision = Math.max(queue.headRevision, cursor);
    // Caught up: one BOOKMARK says the stream is live (and, with send_initial, that the snapshot is complete).
    yield bookmark(cursor);
    stopBookmarks = settings.bookmarks.subscribe(() => queue.requestBookmark());
    while (!signal.aborted) {
      const items = await queue.take(signal);
      if (queue.overflowed) {
        throw new DomainError(
          status.RESOURCE_EXHAUSTED,
          ErrorReason.WATCH_TOO_SLOW,
          `the watcher fell more than ${settings.maxLagChanges} events behind; resume from revision ${cursor}`,
          { last_revision: String(cursor) },
        );
      }
      for (const item of items) {
        if (item.revision <= cursor) continue; // already replayed from the journal
        cursor = item.revision;
        yield item.output;
      }
      if (queue.bookmarkDue && items.length === 0) {
        queue.bookmarkDue = false;
        // Nothing pending: every change up to the queue's head has been seen (sent or filtered out).
        cursor = Math.max(cursor, queue.headRevision);
        if (!signal.aborted) yield bookmark(cursor);
      }
    }
  } finally {
    unsubscribe?.();
    stopBookmarks?.();
  }
}
