import { describe, expect, it } from "vitest";
import { type Timetable, timetable } from "../../server/src/schedule/timetable.js";
import { at, definition, iso, seconds } from "../helpers/schedule-definitions.js";

const CREATED = at("2026-01-01T00:00:00Z");

/** The first n ticks after `fromIso`. */
function ticks(table: Timetable | undefined, fromIso: string, n: number): (string | null)[] {
  const out: (string | null)[] = [];
  let after = at(fromIso);
  for (let i = 0; i < n; i++) {
    const tick = table!.next(after);
    out.push(iso(tick));
    if (tick === null) break;
    after = tick;
  }
  return out;
}

const cron = (cronText: string, timeZone = "", extra = {}) =>
  timetable(definition({ cron: cronText, timeZone, ...extra }), CREATED);

describe("cron timetables (croner)", () => {
  it("Europe/Berlin: a daily 02:30 fires once on the spring-forward day, at the jump to 03:00", () => {
    // 2026-03-29 02:00 CET → 03:00 CEST (01:00Z): 02:30 does not exist that day.
    expect(ticks(cron("30 2 * * *", "Europe/Berlin"), "2026-03-27T12:00:00Z", 4)).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST, the instant the clock jumps
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
      "2026-03-31T00:30:00.000Z",
    ]);
  });

  it("Europe/Berlin: a daily 02:30 fires once on the fall-back day, the first time", () => {
    // 2026-10-25 03:00 CEST → 02:00 CET (01:00Z): 02:30 happens at 00:30Z and again at 01:30Z.
    expect(ticks(cron("30 2 * * *", "Europe/Berlin"), "2026-10-23T12:00:00Z", 4)).toEqual([
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z", // 02:30 CEST, not again at 02:30 CET
      "2026-10-26T01:30:00.000Z",
      "2026-10-27T01:30:00.000Z",
    ]);
  });

  it("America/New_York: 02:30 on the spring-forward day fires at 03:00; 01:30 on the fall-back day once", () => {
    expect(ticks(cron("30 2 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 3)).toEqual([
      "2026-03-08T07:00:00.000Z", // 03:00 EDT: the jump from 02:00 EST
      "2026-03-09T06:30:00.000Z",
      "2026-03-10T06:30:00.000Z",
    ]);
    // 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens at 05:30Z and 06:30Z.
    expect(ticks(cron("30 1 * * *", "America/New_York"), "2026-10-31T12:00:00Z", 3)).toEqual([
      "2026-11-01T05:30:00.000Z",
      "2026-11-02T06:30:00.000Z",
      "2026-11-03T06:30:00.000Z",
    ]);
  });

  it("a list of fixed hours is a fixed-time job too (fixedTimeRule no-wildcard)", () => {
    expect(ticks(cron("30 2,14 * * *", "Europe/Berlin"), "2026-10-24T13:00:00Z", 3)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST once
      "2026-10-25T13:30:00.000Z", // 14:30 CET
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("pins croner's rule for wildcard crons: a repeated hour runs twice, a skipped time is skipped", () => {
    expect(ticks(cron("*/30 * * * *", "Europe/Berlin"), "2026-10-25T00:00:00Z", 4)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST
      "2026-10-25T01:00:00.000Z", // 02:00 CET (02:00 again)
      "2026-10-25T01:30:00.000Z", // 02:30 CET (02:30 again)
      "2026-10-25T02:00:00.000Z",
    ]);
    expect(ticks(cron("30 * * * *", "Europe/Berlin"), "2026-03-29T00:00:00Z", 3)).toEqual([
      "2026-03-29T00:30:00.000Z", // 01:30 CET
      "2026-03-29T01:30:00.000Z", // 03:30 CEST: 02:30 never came
      "2026-03-29T02:30:00.000Z",
    ]);
  });

  it("6 fields: seconds first", () => {
    expect(ticks(cron("*/15 * * * * *"), "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T00:00:15.000Z",
      "2026-01-01T00:00:30.000Z",
      "2026-01-01T00:00:45.000Z",
    ]);
  });

  it("nicknames", () => {
    const first = (nickname: string) => ticks(cron(nickname), "2026-01-01T00:00:00Z", 1)[0];
    expect(first("@hourly")).toBe("2026-01-01T01:00:00.000Z");
    expect(first("@daily")).toBe("2026-01-02T00:00:00.000Z");
    expect(first("@weekly")).toBe("2026-01-04T00:00:00.000Z"); // a Sunday
    expect(first("@monthly")).toBe("2026-02-01T00:00:00.000Z");
    expect(first("@yearly")).toBe("2027-01-01T00:00:00.000Z");
  });

  it("a time zone shifts the cron: midnight in Tokyo is 15:00Z", () => {
    expect(ticks(cron("0 0 * * *", "Asia/Tokyo"), "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-01T15:00:00.000Z"]);
  });

  it("next is strictly after, at millisecond precision", () => {
    const table = cron("* * * * * *");
    expect(iso(table!.next(at("2026-01-01T10:00:00.000Z")))).toBe("2026-01-01T10:00:01.000Z");
    expect(iso(table!.next(at("2026-01-01T09:59:59.999Z")))).toBe("2026-01-01T10:00:00.000Z");
  });

  it("start_time is inclusive, end_time is inclusive", () => {
    const table = cron("0 * * * *", "", {
      startTime: new Date("2026-02-01T05:00:00Z"),
      endTime: new Date("2026-02-01T07:00:00Z"),
    });
    expect(ticks(table, "2026-01-01T00:00:00Z", 4)).toEqual([
      "2026-02-01T05:00:00.000Z",
      "2026-02-01T06:00:00.000Z",
      "2026-02-01T07:00:00.000Z",
      null,
    ]);
  });
});

describe("interval timetables", () => {
  it("anchored on the creation: the first tick is one interval after it", () => {
    const table = timetable(definition({ interval: seconds(90) }), CREATED + 250);
    expect(ticks(table, "2025-12-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T00:01:30.250Z",
      "2026-01-01T00:03:00.250Z",
      "2026-01-01T00:04:30.250Z",
    ]);
  });

  it("anchored on start_time: the first tick is start_time itself, wherever the search starts", () => {
    const table = timetable(
      definition({ interval: seconds(3600), startTime: new Date("2026-05-01T00:00:10Z") }),
      CREATED,
    );
    expect(ticks(table, "2026-01-01T00:00:00Z", 2)).toEqual(["2026-05-01T00:00:10.000Z", "2026-05-01T01:00:10.000Z"]);
    expect(ticks(table, "2026-05-03T00:30:00Z", 1)).toEqual(["2026-05-03T01:00:10.000Z"]);
  });

  it("end_time: no tick after it", () => {
    const table = timetable(definition({ interval: seconds(60), endTime: new Date(CREATED + 150_000) }), CREATED);
    expect(ticks(table, "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T00:01:00.000Z",
      "2026-01-01T00:02:00.000Z",
      null,
    ]);
  });

  it("span counts exactly by arithmetic, even over years of one-second ticks", () => {
    const table = timetable(definition({ interval: seconds(1) }), CREATED)!;
    const year = 365 * 86_400_000;
    expect(table.span!(CREATED, CREATED + year)).toEqual({ count: 365 * 86_400, newest: CREATED + year });
    expect(table.span!(CREATED - 5000, CREATED + 999)).toEqual({ count: 0, newest: null });
  });

  it("a named definition has no timetable", () => {
    expect(timetable(definition(undefined), CREATED)).toBeUndefined();
    expect(timetable(definition({}), CREATED)).toBeUndefined();
  });
});
