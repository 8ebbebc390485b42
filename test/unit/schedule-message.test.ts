import { describe, expect, it } from "vitest";
import { scheduleMessage } from "../../server/src/schedule/message.js";
import type { ScheduleRow } from "../../server/src/store/backend.js";
import { at, definition, seconds } from "../helpers/schedule-definitions.js";

const T0 = at("2026-01-01T00:00:00Z");

function row(fields: Partial<ScheduleRow>): ScheduleRow {
  return {
    id: "nightly",
    definition: definition({ interval: seconds(60) }),
    generation: 3,
    createMs: T0,
    updateMs: T0 + 5000,
    cursorMs: T0,
    nextDueMs: T0 + 60_000,
    lastFireMs: null,
    recentTaskIds: [],
    missed: 0,
    skipped: 0,
    fired: 0,
    ...fields,
  };
}

const times = (count: number, firstMs: number, stepMs: number) =>
  Array.from({ length: count }, (_, i) => new Date(firstMs + i * stepMs));

describe("scheduleMessage", () => {
  it("definition, status and times", () => {
    const message = scheduleMessage(
      row({ lastFireMs: T0 + 60_000, recentTaskIds: ["b", "a"], missed: 4, skipped: 2, fired: 9 }),
      T0 + 90_000,
    );
    expect(message).toMatchObject({ id: "nightly", spec: { interval: seconds(60) }, generation: 3 });
    expect(message.createTime).toEqual(new Date(T0));
    expect(message.updateTime).toEqual(new Date(T0 + 5000));
    expect(message.status).toEqual({
      nextFireTimes: times(5, T0 + 120_000, 60_000), // after now, the later of cursor and now
      lastFireTime: new Date(T0 + 60_000),
      recentTaskIds: ["b", "a"],
      missed: 4,
      skipped: 2,
      fired: 9,
    });
  });

  it("next fire times count from the cursor when it is ahead of now", () => {
    expect(scheduleMessage(row({ cursorMs: T0 + 600_000 }), T0).status?.nextFireTimes).toEqual(
      times(5, T0 + 660_000, 60_000),
    );
  });

  it("none when paused, a named definition, or past end_time; fewer when it ends soon", () => {
    expect(
      scheduleMessage(row({ definition: { ...row({}).definition, paused: true } }), T0).status?.nextFireTimes,
    ).toEqual([]);
    expect(scheduleMessage(row({ definition: definition(undefined) }), T0).status?.nextFireTimes).toEqual([]);
    const ending = definition({ interval: seconds(60), endTime: new Date(T0 + 180_000) });
    expect(scheduleMessage(row({ definition: ending }), T0).status?.nextFireTimes).toEqual(
      times(3, T0 + 60_000, 60_000),
    );
    expect(scheduleMessage(row({ definition: ending }), T0 + 180_000).status?.nextFireTimes).toEqual([]);
  });

  it("cron in a zone", () => {
    const def = definition({ cron: "0 9 * * *", timeZone: "America/New_York" });
    expect(scheduleMessage(row({ definition: def }), T0).status?.nextFireTimes[0]).toEqual(
      new Date("2026-01-01T14:00:00Z"),
    );
  });
});
