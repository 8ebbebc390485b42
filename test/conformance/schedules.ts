import { Schedule } from "@supervisor/sdk";
import { expect, it } from "vitest";
import type { ScheduleProgress, ScheduleRow, ScheduleStore } from "../../server/src/store/backend.js";
import { makeSchedule, type OpenBackend, scheduleId, taskId, useBackend } from "./fixtures.js";

const MINUTE_MS = 60_000;

const bytesOf = (row: ScheduleRow | undefined) => row && Buffer.from(Schedule.encode(row.definition).finish());

/** A pass's progress: the cursor one step on, nothing fired unless told. */
const progress = (row: ScheduleRow, parts: Partial<ScheduleProgress> = {}): ScheduleProgress => ({
  cursorMs: row.cursorMs + MINUTE_MS,
  nextDueMs: row.cursorMs + 2 * MINUTE_MS,
  firedTaskIds: [],
  missed: 0,
  skipped: 0,
  ...parts,
});

const expectedOf = (row: ScheduleRow) => ({ generation: row.generation, cursorMs: row.cursorMs });

/** Stores each schedule, checking every create applied. */
async function createAll(store: ScheduleStore, rows: ScheduleRow[]): Promise<void> {
  for (const row of rows) expect(await store.create(row)).toBe(true);
}

/** The ids of task numbers `from` down to `to` (newest first, as a pass reports them). */
const taskIds = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => taskId(from - i));

export function scheduleTests(open: OpenBackend): void {
  const fresh = useBackend(open);
  const store = () => fresh.backend.schedules;

  it("create then get: every column as stored, the definition's bytes unchanged; a missing id is undefined", async () => {
    const row: ScheduleRow = {
      ...makeSchedule(1, { nextDueMs: 1_735_689_900_000 }),
      generation: 3,
      lastFireMs: 1_735_689_600_000,
      recentTaskIds: [taskId(2), taskId(1)],
      missed: 4,
      skipped: 5,
      fired: 6,
    };
    expect(await store().create(row)).toBe(true);
    const stored = await store().get(row.id);
    expect(stored).toEqual(row);
    expect(bytesOf(stored)).toEqual(bytesOf(row));
    expect(await store().get(scheduleId(2))).toBeUndefined();
  });

  it("a named definition (never due) and a paused one round trip too", async () => {
    const named = makeSchedule(1, { nextDueMs: null });
    const paused = makeSchedule(2, { paused: true });
    await createAll(store(), [named, paused]);
    expect(await store().get(named.id)).toEqual(named);
    expect(await store().get(paused.id)).toEqual(paused);
  });

  it("create of an id already stored is false and writes nothing", async () => {
    const first = makeSchedule(1);
    expect(await store().create(first)).toBe(true);
    const second = { ...makeSchedule(1, { note: "the second" }), fired: 9 };
    expect(await store().create(second)).toBe(false);
    expect(await store().get(first.id)).toEqual(first);
  });

  it("list: by id after an id, at most the limit", async () => {
    // Stored out of order.
    await createAll(
      store(),
      [5, 2, 4, 1, 3].map((n) => makeSchedule(n)),
    );
    const ids = async (after: string, limit: number) => (await store().list(after, limit)).map((row) => row.id);
    expect(await ids("", 2)).toEqual([scheduleId(1), scheduleId(2)]);
    expect(await ids(scheduleId(2), 2)).toEqual([scheduleId(3), scheduleId(4)]);
    expect(await ids(scheduleId(4), 2)).toEqual([scheduleId(5)]);
    expect(await ids(scheduleId(5), 2)).toEqual([]);
    expect(await ids("schedule-0025", 10)).toEqual([scheduleId(3), scheduleId(4), scheduleId(5)]);
    expect(await store().list("", 10)).toEqual([1, 2, 3, 4, 5].map((n) => makeSchedule(n)));
  });

  it("list after an id holding a NUL character: the ids after it byte by byte", async () => {
    // The cursor comes from a client's page token; stored ids never hold U+0000.
    await createAll(
      store(),
      [1, 2].map((n) => makeSchedule(n)),
    );
    const ids = async (after: string) => (await store().list(after, 10)).map((row) => row.id);
    expect(await ids(`${scheduleId(1)}\u0000`)).toEqual([scheduleId(2)]);
    expect(await ids("\u0000")).toEqual([scheduleId(1), scheduleId(2)]);
    expect(await store().get(`${scheduleId(1)}\u0000`)).toBeUndefined();
  });

  it("update over the stored generation replaces the definition and the cursor, and keeps the counts", async () => {
    const created = makeSchedule(1);
    await createAll(store(), [created]);
    const fired = progress(created, { firedTaskIds: [taskId(1)], lastFireMs: created.cursorMs + 1, missed: 2 });
    expect(await store().advance(created.id, expectedOf(created), fired)).toBe(true);
    const before = (await store().get(created.id))!;
    const changed: ScheduleRow = {
      ...created,
      definition: { ...created.definition, spec: { ...created.definition.spec!, cron: "0 * * * *" }, note: "hourly" },
      generation: 2,
      updateMs: created.updateMs + 5 * MINUTE_MS,
      cursorMs: created.cursorMs + 5 * MINUTE_MS,
      nextDueMs: created.cursorMs + 60 * MINUTE_MS,
      // What the store keeps whatever the row says: the scheduler's status is not the client's to set.
      createMs: 1,
      lastFireMs: null,
      recentTaskIds: [],
      missed: 0,
      skipped: 0,
      fired: 0,
    };
    expect(await store().update(changed, 1)).toBe(true);
    const stored = await store().get(created.id);
    expect(stored).toEqual({
      ...changed,
      createMs: created.createMs,
      lastFireMs: before.lastFireMs,
      recentTaskIds: [taskId(1)],
      missed: 2,
      skipped: 0,
      fired: 1,
    });
    expect(bytesOf(stored)).toEqual(bytesOf(changed));
  });

  it("update over a stale generation (or of a missing id) is false and changes nothing", async () => {
    const created = makeSchedule(1);
    await createAll(store(), [created]);
    const second = { ...created, definition: { ...created.definition, note: "second" }, generation: 2 };
    expect(await store().update(second, 1)).toBe(true);
    // A client that read generation 1 too, racing the one above.
    const stale = { ...created, definition: { ...created.definition, note: "stale" }, generation: 2 };
    expect(await store().update(stale, 1)).toBe(false);
    expect(await store().get(created.id)).toEqual(second);
    expect(await store().update({ ...makeSchedule(2), generation: 2 }, 1)).toBe(false);
    expect(await store().get(scheduleId(2))).toBeUndefined();
  });

  it("update never moves the cursor back: a pass that moved it on since the client read the row stays", async () => {
    const read = makeSchedule(1);
    await createAll(store(), [read]);
    const pass = progress(read, { firedTaskIds: [taskId(1)] });
    expect(await store().advance(read.id, expectedOf(read), pass)).toBe(true);
    // A pause decided on the row as read before the pass: its cursor is the old one.
    const paused = { ...read, definition: { ...read.definition, paused: true }, generation: 2 };
    expect(await store().update(paused, 1)).toBe(true);
    const stored = (await store().get(read.id))!;
    expect([stored.cursorMs, stored.nextDueMs, stored.definition.paused]).toEqual([
      pass.cursorMs,
      read.nextDueMs,
      true,
    ]);
    // The pass's tick stays handled: over the stored cursor, the next pass applies.
    expect(await store().advance(read.id, { generation: 2, cursorMs: pass.cursorMs }, progress(stored))).toBe(true);
  });

  it("delete removes it once: true, then false", async () => {
    await createAll(store(), [makeSchedule(1), makeSchedule(2)]);
    expect(await store().delete(scheduleId(1))).toBe(true);
    expect(await store().get(scheduleId(1))).toBeUndefined();
    expect(await store().delete(scheduleId(1))).toBe(false);
    expect(await store().delete(scheduleId(3))).toBe(false);
    expect((await store().list("", 10)).map((row) => row.id)).toEqual([scheduleId(2)]);
  });

  it("due: the unpaused ones due at or before now, soonest first, at most the limit", async () => {
    const now = 1_800_000_000_000;
    await createAll(store(), [
      makeSchedule(1, { nextDueMs: now - 10 }),
      makeSchedule(2, { nextDueMs: now - 30 }),
      makeSchedule(3, { nextDueMs: now }), // due exactly now
      makeSchedule(4, { nextDueMs: now + 1 }), // not yet
      makeSchedule(5, { nextDueMs: now - 50, paused: true }),
      makeSchedule(6, { nextDueMs: null }), // never
      makeSchedule(7, { nextDueMs: now - 20 }),
    ]);
    const ids = async (limit: number) => (await store().due(now, limit)).map((row) => row.id);
    expect(await ids(10)).toEqual([2, 7, 1, 3].map(scheduleId));
    expect(await ids(2)).toEqual([2, 7].map(scheduleId));
    expect(await store().due(now - 31, 10)).toEqual([]);
    expect((await store().due(now, 1))[0]).toEqual(makeSchedule(2, { nextDueMs: now - 30 }));
  });

  it("due and nextDueMs follow a pause and an unpause (update), and an advance", async () => {
    const now = 1_800_000_000_000;
    const row = makeSchedule(1, { nextDueMs: now - 5 });
    await createAll(store(), [row]);
    expect((await store().due(now, 10)).map((due) => due.id)).toEqual([row.id]);
    const paused = { ...row, definition: { ...row.definition, paused: true }, generation: 2 };
    expect(await store().update(paused, 1)).toBe(true);
    expect(await store().due(now, 10)).toEqual([]);
    expect(await store().nextDueMs()).toBeUndefined();
    const unpaused = { ...row, generation: 3, cursorMs: now, nextDueMs: now + 100 };
    expect(await store().update(unpaused, 2)).toBe(true);
    expect(await store().due(now, 10)).toEqual([]);
    expect(await store().nextDueMs()).toBe(now + 100);
    expect(await store().advance(row.id, expectedOf(unpaused), progress(unpaused, { nextDueMs: now + 7 }))).toBe(true);
    expect(await store().nextDueMs()).toBe(now + 7);
    expect(
      await store().advance(
        row.id,
        { generation: 3, cursorMs: now + MINUTE_MS },
        progress(unpaused, {
          cursorMs: now + 2 * MINUTE_MS,
          nextDueMs: null,
        }),
      ),
    ).toBe(true);
    expect(await store().nextDueMs()).toBeUndefined();
  });

  it("nextDueMs: the soonest of the unpaused; undefined when none is ever due", async () => {
    expect(await store().nextDueMs()).toBeUndefined();
    await createAll(store(), [makeSchedule(1, { nextDueMs: null }), makeSchedule(2, { nextDueMs: 50, paused: true })]);
    expect(await store().nextDueMs()).toBeUndefined();
    await createAll(store(), [makeSchedule(3, { nextDueMs: 300 }), makeSchedule(4, { nextDueMs: 200 })]);
    expect(await store().nextDueMs()).toBe(200);
    expect(await store().delete(scheduleId(4))).toBe(true);
    expect(await store().nextDueMs()).toBe(300);
  });

  it("advance over the stored generation and cursor: cursor and next due set, counts added, last fire set", async () => {
    const row = makeSchedule(1);
    await createAll(store(), [row]);
    const first = progress(row, { firedTaskIds: [taskId(2), taskId(1)], lastFireMs: row.cursorMs + 30, missed: 3 });
    expect(await store().advance(row.id, expectedOf(row), first)).toBe(true);
    const once = (await store().get(row.id))!;
    expect(once).toEqual({
      ...row,
      cursorMs: first.cursorMs,
      nextDueMs: first.nextDueMs,
      lastFireMs: row.cursorMs + 30,
      recentTaskIds: [taskId(2), taskId(1)],
      missed: 3,
      skipped: 0,
      fired: 2,
    });
    // A pass that fired nothing (all skipped): the last fire stays.
    const second = progress(once, { skipped: 4, missed: 1 });
    expect(await store().advance(row.id, expectedOf(once), second)).toBe(true);
    expect(await store().get(row.id)).toEqual({
      ...once,
      cursorMs: second.cursorMs,
      nextDueMs: second.nextDueMs,
      missed: 4,
      skipped: 4,
    });
    expect(bytesOf(await store().get(row.id))).toEqual(bytesOf(row));
  });

  it("advance over a stale cursor or generation (or of a missing id) is false and changes nothing", async () => {
    const row = makeSchedule(1);
    await createAll(store(), [row]);
    const pass = progress(row, { firedTaskIds: [taskId(1)], lastFireMs: row.cursorMs + 1, missed: 1, skipped: 1 });
    expect(await store().advance(row.id, expectedOf(row), pass)).toBe(true);
    const after = await store().get(row.id);
    // Another scheduler's pass that read the same cursor.
    expect(await store().advance(row.id, expectedOf(row), { ...pass, firedTaskIds: [taskId(2)] })).toBe(false);
    // A pass over the current cursor but an older generation (a client changed it since).
    expect(await store().advance(row.id, { generation: 0, cursorMs: pass.cursorMs }, progress(after!))).toBe(false);
    expect(await store().get(row.id)).toEqual(after);
    expect(await store().advance(scheduleId(2), expectedOf(row), pass)).toBe(false);
  });

  it("advances racing on one cursor: exactly one applies, its counts once", async () => {
    const row = makeSchedule(1);
    await createAll(store(), [row]);
    const passes = [1, 2, 3].map((n) => progress(row, { firedTaskIds: [taskId(n)], missed: n }));
    const applied = await Promise.all(passes.map((pass) => store().advance(row.id, expectedOf(row), pass)));
    expect(applied.filter(Boolean)).toHaveLength(1);
    const winner = passes[applied.indexOf(true)]!;
    const stored = (await store().get(row.id))!;
    expect(stored.recentTaskIds).toEqual(winner.firedTaskIds);
    expect([stored.fired, stored.missed]).toEqual([1, winner.missed]);
  });

  it("recent task ids: the fired ones in front, newest first, the newest 10 kept", async () => {
    let row = makeSchedule(1);
    await createAll(store(), [row]);
    const advance = async (fired: string[]) => {
      expect(await store().advance(row.id, expectedOf(row), progress(row, { firedTaskIds: fired }))).toBe(true);
      row = (await store().get(row.id))!;
      return row.recentTaskIds;
    };
    expect(await advance(taskIds(3, 1))).toEqual(taskIds(3, 1));
    expect(await advance(taskIds(9, 4))).toEqual(taskIds(9, 1));
    expect(await advance(taskIds(12, 10))).toEqual(taskIds(12, 3));
    expect(await advance([])).toEqual(taskIds(12, 3));
    // More than 10 in one pass: its newest 10, all counted.
    expect(await advance(taskIds(25, 13))).toEqual(taskIds(25, 16));
    expect(row.fired).toBe(25);
  });

  it("recordTrigger: the task in front (10 kept), counted, last fire the later of the stored and this one", async () => {
    let row = makeSchedule(1);
    await createAll(store(), [row]);
    await store().recordTrigger(row.id, taskId(1), 5_000);
    row = (await store().get(row.id))!;
    expect([row.recentTaskIds, row.fired, row.lastFireMs]).toEqual([[taskId(1)], 1, 5_000]);
    // An earlier nominal time (a trigger that lost a race with a later tick's fire) leaves the last fire.
    await store().recordTrigger(row.id, taskId(2), 4_000);
    row = (await store().get(row.id))!;
    expect([row.recentTaskIds, row.fired, row.lastFireMs]).toEqual([[taskId(2), taskId(1)], 2, 5_000]);
    for (let n = 3; n <= 11; n++) await store().recordTrigger(row.id, taskId(n), 5_000 + n);
    row = (await store().get(row.id))!;
    expect([row.recentTaskIds, row.fired, row.lastFireMs]).toEqual([taskIds(11, 2), 11, 5_011]);
    // It moves neither the cursor nor the generation: a pass that read them before still applies.
    const { cursorMs, generation, nextDueMs } = makeSchedule(1);
    expect([row.cursorMs, row.generation, row.nextDueMs]).toEqual([cursorMs, generation, nextDueMs]);
    // An advance with an earlier last fire than a trigger's keeps the trigger's.
    expect(await store().advance(row.id, expectedOf(row), progress(row, { lastFireMs: 10, firedTaskIds: ["x"] }))).toBe(
      true,
    );
    expect((await store().get(row.id))!.lastFireMs).toBe(5_011);
    await store().recordTrigger(scheduleId(2), taskId(1), 1); // gone: nothing to record, no failure
    expect(await store().get(scheduleId(2))).toBeUndefined();
  });

  it("schedules are no task changes: the journal and its head do not move", async () => {
    const row = makeSchedule(1);
    const head = await fresh.backend.head();
    await createAll(store(), [row]);
    await store().advance(row.id, expectedOf(row), progress(row, { firedTaskIds: [taskId(1)] }));
    await store().recordTrigger(row.id, taskId(2), 1);
    await store().delete(row.id);
    expect(await fresh.backend.head()).toBe(head);
    expect(await fresh.backend.readJournal(0, 10)).toEqual([]);
  });
}
