import { EventType, type WatchTasksRequest, type WatchTasksResponse } from "@supervisor/sdk";
import type { CompiledFilter } from "../core/task-filter.js";
import { invalidArgument, revisionCompacted, watchTooSlow } from "../errors.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { StorageBackend } from "../store/backend.js";
import { listParams } from "../store/list-params.js";
import type { BookmarkTicker } from "./bookmark-ticker.js";
import { LiveQueue } from "./live-queue.js";
import { addedEvent, eventFor, type WatchOutput } from "./watch-event.js";

export interface WatchSettings {
  /** The shared timer of periodic BOOKMARKs. */
  bookmarks: BookmarkTicker;
  /** Changes a watcher may fall behind before it is ended with WATCH_TOO_SLOW. */
  maxLagChanges: number;
  /** Open streams and events sent are counted here. */
  metrics?: ServerMetrics;
}

const REPLAY_BATCH = 500;

const bookmark = (revision: number): WatchTasksResponse => ({ type: EventType.EVENT_TYPE_BOOKMARK, revision });

/**
 * WatchTasks: optional initial snapshot, then the journal replayed from the
 * cursor, a BOOKMARK, then live changes. Nothing assumes reads and commits
 * interleave in any particular way: once the replay is near the head the
 * watcher subscribes, reads the journal once more, and drops live changes it
 * already sent by revision — no gap and no duplicate at the seam.
 */
export async function* watchTasks(
  backend: StorageBackend,
  request: WatchTasksRequest,
  filter: CompiledFilter,
  signal: AbortSignal,
  settings: WatchSettings,
): AsyncGenerator<WatchOutput> {
  const metrics = settings.metrics;
  if (!metrics) return yield* watchEvents(backend, request, filter, signal, settings);
  metrics.watchStreams.inc();
  try {
    for await (const event of watchEvents(backend, request, filter, signal, settings)) {
      metrics.watchEvents.inc();
      yield event;
    }
  } finally {
    metrics.watchStreams.dec();
  }
}

async function* watchEvents(
  backend: StorageBackend,
  request: WatchTasksRequest,
  filter: CompiledFilter,
  signal: AbortSignal,
  settings: WatchSettings,
): AsyncGenerator<WatchOutput> {
  let cursor: number;
  if (request.sendInitial) {
    let before: string | undefined;
    let first = true;
    cursor = 0;
    do {
      const page = await backend.listTasks(listParams(filter, before, REPLAY_BATCH));
      if (first) cursor = page.revision; // the journal after the first page is replayed on top
      first = false;
      for (const item of page.items) yield addedEvent(item.encoded, item.revision);
      before = page.nextBeforeId;
    } while (before !== undefined && !signal.aborted);
  } else {
    const head = await backend.head();
    cursor = request.sinceRevision || head;
    if (cursor > head) {
      throw invalidArgument([
        { field: "since_revision", description: `revision ${cursor} is newer than the head (${head})` },
      ]);
    }
  }
  const compacted = await backend.compactedThrough();
  if (cursor < compacted) throw revisionCompacted(cursor, compacted + 1);

  const queue = new LiveQueue(settings.maxLagChanges, (change) => eventFor(change, filter), cursor);
  let unsubscribe: (() => void) | undefined;
  let stopBookmarks: (() => void) | undefined;
  try {
    for (let caughtUp = false; !caughtUp; ) {
      // Subscribed before this read: every commit from here on is in the queue, or in this read, or both.
      caughtUp = unsubscribe !== undefined;
      const changes = await backend.readJournal(cursor, REPLAY_BATCH);
      for (const change of changes) {
        const event = eventFor(change, filter);
        cursor = change.revision;
        if (event) yield event;
      }
      if (signal.aborted) return;
      // Near the head: subscribe, then read once more (what committed between the last read and now).
      if (!unsubscribe && changes.length < REPLAY_BATCH) unsubscribe = backend.onCommit((batch) => queue.push(batch));
    }
    queue.headRevision = Math.max(queue.headRevision, cursor);
    // Caught up: one BOOKMARK says the stream is live (and, with send_initial, that the snapshot is complete).
    yield bookmark(cursor);
    stopBookmarks = settings.bookmarks.subscribe(() => queue.requestBookmark());
    while (!signal.aborted) {
      const items = await queue.take(signal);
      if (queue.overflowed) {
        throw watchTooSlow(settings.maxLagChanges, cursor);
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
