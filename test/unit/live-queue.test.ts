import { EventType, type WatchTasksResponse } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import type { TaskChange } from "../../server/src/store/backend.js";
import { LiveQueue } from "../../server/src/watch/live-queue.js";
import type { WatchOutput } from "../../server/src/watch/watch-event.js";
import { specOf, taskId, taskOf } from "../helpers/write-view.js";

/** A change to a task of `slot` at `revision`. */
const change = (revision: number, slot = "watched"): TaskChange => ({
  revision,
  type: EventType.EVENT_TYPE_MODIFIED,
  task: { ...taskOf(taskId(revision), specOf({ slot }), "owner"), revision },
});

/** This watcher sees only slot "watched". */
const select = (c: TaskChange): WatchOutput | undefined =>
  c.task.spec!.slot === "watched" ? { type: c.type, task: c.task, revision: c.revision } : undefined;

const revisionsOf = (items: { output: WatchOutput; revision: number }[]) =>
  items.map((item) => [item.revision, (item.output as WatchTasksResponse).revision]);

/** Whether `promise` has settled once every pending callback has run (one turn of the event loop). */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

const live = () => new AbortController().signal;

describe("LiveQueue", () => {
  it("keeps the changes its filter selects, in order, and take hands them over once", async () => {
    const queue = new LiveQueue(10, select, 0);
    queue.push([change(1), change(2, "other"), change(3)]);
    queue.push([change(4)]);
    expect(revisionsOf(await queue.take(live()))).toEqual([
      [1, 1],
      [3, 3],
      [4, 4],
    ]);
    expect(await hasSettled(queue.take(live()))).toBe(false);
  });

  it("take waits for a change it selects; one filtered out does not wake it but moves headRevision", async () => {
    const queue = new LiveQueue(10, select, 5);
    const taken = queue.take(live());
    queue.push([change(6, "other")]);
    expect(await hasSettled(taken)).toBe(false);
    expect(queue.headRevision).toBe(6);
    queue.push([change(7)]);
    expect(revisionsOf(await taken)).toEqual([[7, 7]]);
  });

  it("headRevision is the newest revision seen and never goes back", () => {
    const queue = new LiveQueue(10, select, 10);
    queue.push([change(3, "other")]);
    expect(queue.headRevision).toBe(10);
    queue.push([change(12, "other"), change(11)]);
    expect(queue.headRevision).toBe(12);
  });

  it("a watcher more than the limit behind is overflowed: its queue is dropped and it wakes at once", async () => {
    const queue = new LiveQueue(2, select, 0);
    const taken = queue.take(live());
    queue.push([change(1)]);
    expect(revisionsOf(await taken)).toEqual([[1, 1]]);
    queue.push([change(2), change(3)]);
    expect(queue.overflowed).toBe(false);
    queue.push([change(4)]);
    expect(queue.overflowed).toBe(true);
    expect(await queue.take(live())).toEqual([]);
    // Nothing more is kept or looked at.
    queue.push([change(5)]);
    expect(await queue.take(live())).toEqual([]);
    expect(queue.headRevision).toBe(4);
  });

  it("overflow wakes a waiting take; changes filtered out never count toward the limit", async () => {
    const queue = new LiveQueue(2, select, 0);
    queue.push(Array.from({ length: 100 }, (_, i) => change(i + 1, "other")));
    queue.push([change(101), change(102)]);
    expect(queue.overflowed).toBe(false);
    expect(revisionsOf(await queue.take(live()))).toEqual([
      [101, 101],
      [102, 102],
    ]);
    const taken = queue.take(live());
    queue.push([change(103), change(104), change(105)]);
    expect(await taken).toEqual([]);
    expect(queue.overflowed).toBe(true);
  });

  it("a bookmark request wakes a waiting take with nothing, and stays due until the stream clears it", async () => {
    const queue = new LiveQueue(10, select, 0);
    const taken = queue.take(live());
    expect(await hasSettled(taken)).toBe(false);
    queue.requestBookmark();
    expect(await taken).toEqual([]);
    expect(queue.bookmarkDue).toBe(true);
    expect(await queue.take(live())).toEqual([]);
    queue.bookmarkDue = false;
    expect(await hasSettled(queue.take(live()))).toBe(false);
  });

  it("an abort ends a waiting take, and a take on an aborted signal returns at once", async () => {
    const queue = new LiveQueue(10, select, 0);
    const controller = new AbortController();
    const taken = queue.take(controller.signal);
    controller.abort();
    expect(await taken).toEqual([]);
    expect(await queue.take(controller.signal)).toEqual([]);
    // What arrives after is kept for the next take.
    queue.push([change(1)]);
    expect(revisionsOf(await queue.take(live()))).toEqual([[1, 1]]);
  });
});
