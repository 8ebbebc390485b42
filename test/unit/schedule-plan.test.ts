import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cursorAfterChange, MISSED_COUNT_CAP, planPass } from "../../server/src/schedule/plan.js";
import { timetable } from "../../server/src/schedule/timetable.js";
import { at, definition, seconds } from "../helpers/schedule-definitions.js";

const T0 = at("2026-01-01T00:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("planPass", () => {
  it("nothing due: nothing fired, the cursor unchanged", () => {
    const def = definition({ interval: seconds(60) });
    expect(planPass({ definition: def, createMs: T0, cursorMs: T0 }, T0 + 59_999, 1000)).toEqual({
      fire: [],
      missed: 0,
      cursorMs: T0,
      nextDueMs: T0 + 60_000,
    });
  });

  it("down 1 hour, every second, window 60 s: 61 fired oldest first (the boundary tick fires), 3539 missed", () => {
    for (const spec of [{ interval: seconds(1) }, { cron: "* * * * * *" }]) {
      const def = definition(spec);
      const now = T0 + HOUR;
      const plan = planPass({ definition: def, createMs: T0, cursorMs: T0 }, now, 1000);
      expect(plan.missed).toBe(3539);
      expect(plan.fire).toHaveLength(61);
      expect(plan.fire[0]).toBe(now - 60_000); // exactly 60 s late: still fired
      expect(plan.fire.at(-1)).toBe(now);
      expect(plan.fire).toEqual([...plan.fire].sort((a, b) => a - b));
      expect(plan.cursorMs).toBe(now);
      expect(plan.nextDueMs).toBe(now + 1000);
    }
  });

  it("ticks only older than the window: all missed, the cursor on the newest of them", () => {
    const def = definition({ interval: seconds(600) }, { catchupWindow: seconds(60) });
    const plan = planPass({ definition: def, createMs: T0, cursorMs: T0 }, T0 + 3 * 600_000 + 120_000, 1000);
    expect(plan).toEqual({ fire: [], missed: 3, cursorMs: T0 + 1_800_000, nextDueMs: T0 + 2_400_000 });
  });

  it("maxFires: the cursor stops at the last fired tick and the next due is already past", () => {
    const def = definition({ interval: seconds(1) }, { catchupWindow: seconds(3600) });
    const now = T0 + 2500_000;
    const first = planPass({ definition: def, createMs: T0, cursorMs: T0 }, now, 1000);
    expect(first.fire).toHaveLength(1000);
    expect(first.missed).toBe(0);
    expect(first.cursorMs).toBe(T0 + 1000_000);
    expect(first.nextDueMs).toBe(T0 + 1001_000);
    const second = planPass({ definition: def, createMs: T0, cursorMs: first.cursorMs }, now, 1000);
    expect(second.fire[0]).toBe(T0 + 1001_000);
    const third = planPass({ definition: def, createMs: T0, cursorMs: second.cursorMs }, now, 1000);
    expect(third.fire).toHaveLength(500);
    expect(third.cursorMs).toBe(now);
    expect(third.nextDueMs).toBe(now + 1000);
  });

  it("walks 30 days of a Berlin cron in passes: one tick per day, DST days included", () => {
    const def = definition({ cron: "30 2 * * *", timeZone: "Europe/Berlin" });
    const created = at("2026-03-15T00:00:00Z");
    let cursorMs = created;
    const fired: number[] = [];
    for (let now = created; now <= created + 30 * DAY; now += 10 * 60_000) {
      const plan = planPass({ definition: def, createMs: created, cursorMs }, now, 1000);
      expect(plan.missed).toBe(0);
      fired.push(...plan.fire);
      cursorMs = plan.cursorMs;
    }
    expect(fired).toHaveLength(30);
    expect(fired).toContain(at("2026-03-29T01:00:00Z")); // the spring-forward day, at the jump
    const days = new Set(fired.map((t) => new Date(t).toLocaleDateString("en-CA", { timeZone: "Europe/Berlin" })));
    expect(days.size).toBe(30);
  });

  it("counts missed cron ticks by walking them, up to MISSED_COUNT_CAP; the rest are handled uncounted", () => {
    const def = definition({ cron: "* * * * * *" });
    const now = T0 + DAY; // 86 400 ticks, all but 61 older than the window
    const plan = planPass({ definition: def, createMs: T0, cursorMs: T0 }, now, 1000);
    expect(plan.missed).toBe(MISSED_COUNT_CAP);
    expect(plan.fire).toHaveLength(61);
    expect(plan.fire[0]).toBe(now - 60_000);
    expect(plan.cursorMs).toBe(now);
  });

  it("respects start_time and end_time", () => {
    const def = definition({
      interval: seconds(60),
      startTime: new Date(T0 + HOUR),
      endTime: new Date(T0 + HOUR + 120_000),
    });
    expect(planPass({ definition: def, createMs: T0, cursorMs: T0 }, T0 + HOUR - 1, 100).fire).toEqual([]);
    const plan = planPass({ definition: def, createMs: T0, cursorMs: T0 }, T0 + 2 * HOUR, 100);
    expect(plan.fire).toEqual([]); // all older than the 60 s window
    expect(plan.missed).toBe(3);
    expect(plan.nextDueMs).toBeNull();
    const inTime = planPass({ definition: def, createMs: T0, cursorMs: T0 }, T0 + HOUR + 120_000, 100);
    expect(inTime.fire).toEqual([T0 + HOUR + 60_000, T0 + HOUR + 120_000]);
    expect(inTime.missed).toBe(1);
    expect(inTime.nextDueMs).toBeNull();
  });

  it("a named definition is never due", () => {
    expect(planPass({ definition: definition(undefined), createMs: T0, cursorMs: T0 }, T0 + DAY, 10)).toEqual({
      fire: [],
      missed: 0,
      cursorMs: T0,
      nextDueMs: null,
    });
  });

  it("property: splitting a time range into passes fires each tick exactly once, in order", () => {
    // Dense crons only in UTC: a croner step in a zone costs ≈ 75 µs.
    const spec = fc.oneof(
      fc.record({ interval: fc.integer({ min: 1, max: 7200 }).map(seconds) }),
      fc
        .constantFrom(
          ["*/7 * * * * *", ""],
          ["*/10 * * * *", ""],
          ["*/5 * * * *", "Europe/Berlin"],
          ["0 * * * *", "America/New_York"],
          ["30 2 * * *", "Europe/Berlin"],
          ["30 1 * * *", "America/New_York"],
          ["0 9-17 * * 1-5", "America/New_York"],
        )
        .map(([cron, timeZone]) => ({ cron, timeZone })),
    );
    // Starts anywhere in 2026, or a few hours before a DST change in Berlin or New York.
    const start = fc.oneof(
      fc.integer({ min: 0, max: 365 * DAY }).map((offset) => T0 + offset),
      fc
        .constantFrom("2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z", "2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z")
        .chain((change) => fc.integer({ min: -6 * HOUR, max: 0 }).map((before) => at(change) + before)),
    );
    fc.assert(
      fc.property(
        spec,
        start,
        fc.array(fc.integer({ min: 1, max: HOUR }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 50 }),
        (s, created, steps, maxFires) => {
          // A window longer than the whole range: nothing is missed, everything must fire.
          const def = definition(s, { catchupWindow: seconds(200 * 3600) });
          const end = created + steps.reduce((a, b) => a + b, 0);
          let cursorMs = created;
          const fired: number[] = [];
          let now = created;
          for (const step of [...steps, 0]) {
            now += step;
            // Passes at `now` until nothing more is due (maxFires may need several).
            for (;;) {
              const plan = planPass({ definition: def, createMs: created, cursorMs }, now, maxFires);
              fired.push(...plan.fire);
              cursorMs = plan.cursorMs;
              if (plan.nextDueMs === null || plan.nextDueMs > now) break;
            }
          }
          const expected: number[] = [];
          const table = timetable(def, created)!;
          for (let t = table.next(created); t !== null && t <= end; t = table.next(t)) expected.push(t);
          expect(fired).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("cursorAfterChange", () => {
  it("create: ticks strictly after now", () => {
    expect(cursorAfterChange(definition({ interval: seconds(60) }), T0, T0, T0)).toEqual({
      cursorMs: T0,
      nextDueMs: T0 + 60_000,
    });
  });

  it("update or unpause later: past ticks are not caught up", () => {
    const def = definition({ cron: "0 * * * *" });
    expect(cursorAfterChange(def, T0, T0 + 60_000, T0 + 5 * HOUR + 1)).toEqual({
      cursorMs: T0 + 5 * HOUR + 1,
      nextDueMs: T0 + 6 * HOUR,
    });
  });

  it("a cursor ahead of now stays (ticks already handled are not handled again)", () => {
    const def = definition({ interval: seconds(60) });
    expect(cursorAfterChange(def, T0, T0 + 120_000, T0 + 30_000).cursorMs).toBe(T0 + 120_000);
  });

  it("a named definition is never due", () => {
    expect(cursorAfterChange(definition(undefined), T0, T0, T0 + 1)).toEqual({ cursorMs: T0 + 1, nextDueMs: null });
  });
});
