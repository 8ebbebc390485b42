import { OverlapPolicy, type Schedule, subprocess, Trigger } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { validateDefinition, validateScheduleId } from "../../server/src/schedule/validate.js";
import { definition, scheduleInput, seconds, violationsThrown } from "../helpers/schedule-definitions.js";

/** The violations of validateDefinition(scheduleInput(spec, fields)). */
const bad = (spec: Parameters<typeof scheduleInput>[0], fields: Partial<Schedule> = {}) =>
  violationsThrown(() => validateDefinition(scheduleInput(spec, fields)));

/** The one violation of a bad input: its field and description. */
function only(spec: Parameters<typeof scheduleInput>[0], fields: Partial<Schedule> = {}) {
  const violations = bad(spec, fields);
  expect(violations).toHaveLength(1);
  return violations[0]!;
}

describe("validateScheduleId", () => {
  it("accepts DNS labels", () => {
    for (const id of ["a", "nightly-backup", "a1", `a${"b".repeat(62)}`])
      expect(validateScheduleId(id, "id")).toEqual([]);
  });

  it("refuses anything else, naming the field", () => {
    expect(validateScheduleId("", "schedule.id")).toEqual([{ field: "schedule.id", description: "required" }]);
    for (const id of ["Nightly", "1st", "a-", "a_b", "a.b", `a${"b".repeat(63)}`]) {
      expect(validateScheduleId(id, "schedule.id")).toEqual([
        expect.objectContaining({ field: "schedule.id", description: expect.stringContaining("a DNS label") }),
      ]);
    }
  });
});

describe("validateDefinition", () => {
  it("requires a schedule", () => {
    expect(violationsThrown(() => validateDefinition(undefined))).toEqual([
      { field: "schedule", description: "required" },
    ]);
  });

  it("a bad id is schedule.id", () => {
    expect(only({ cron: "* * * * *" }, { id: "Bad" }).field).toBe("schedule.id");
  });

  it("cron and interval together: schedule.spec", () => {
    expect(only({ cron: "* * * * *", interval: seconds(60) })).toEqual({
      field: "schedule.spec",
      description: "set at most one of cron and interval",
    });
  });

  it("bad crons: schedule.spec.cron with croner's explanation", () => {
    expect(only({ cron: "61 * * * *" })).toEqual({
      field: "schedule.spec.cron",
      description: "CronPattern: Invalid value for minute: 61",
    });
    expect(only({ cron: "* * *" }).description).toContain("exactly five, six, or seven space separated parts");
    // croner could read a 7th (year) field; the contract allows 5 or 6.
    expect(only({ cron: "0 0 0 1 1 * 2030" }).description).toContain("requires exactly 5 or 6 parts");
    expect(only({ cron: "@reboot" }).description).toContain("@reboot is not supported");
    expect(only({ cron: "0 0 30 2 *" })).toEqual({
      field: "schedule.spec.cron",
      description: "never fires: no date matches it (e.g. 30 February)",
    });
  });

  it("good crons: 5 and 6 fields, nicknames, zones", () => {
    for (const cron of ["*/5 * * * *", "0 */5 * * * *", "@hourly", "@daily", "@weekly", "@monthly", "@yearly"])
      expect(definition({ cron }).spec?.cron).toBe(cron);
    for (const timeZone of ["UTC", "Europe/Berlin", "America/New_York"])
      expect(definition({ cron: "0 3 * * *", timeZone }).spec?.timeZone).toBe(timeZone);
  });

  it("a bad time zone: schedule.spec.time_zone with Intl's explanation", () => {
    expect(only({ cron: "* * * * *", timeZone: "Mars/Olympus" })).toEqual({
      field: "schedule.spec.time_zone",
      description: 'not an IANA time zone such as "Europe/Berlin": Invalid time zone specified: Mars/Olympus',
    });
    expect(only({ interval: seconds(60), timeZone: "Europe/Berlin" })).toEqual({
      field: "schedule.spec.time_zone",
      description: "only with cron",
    });
  });

  it("interval: 1 s .. 366 days, whole milliseconds", () => {
    const field = "schedule.spec.interval";
    expect(only({ interval: { seconds: 0, nanos: 999_000_000 } })).toEqual({
      field,
      description: "must be between 1s and 366d",
    });
    expect(only({ interval: seconds(366 * 86_400 + 1) })).toEqual({
      field,
      description: "must be between 1s and 366d",
    });
    expect(only({ interval: seconds(-5) })).toEqual({ field, description: "must not be negative" });
    expect(only({ interval: { seconds: 5, nanos: 500 } })).toEqual({
      field,
      description: "must be whole milliseconds",
    });
    expect(definition({ interval: { seconds: 1, nanos: 5_000_000 } }).spec?.interval).toEqual({
      seconds: 1,
      nanos: 5_000_000,
    });
    expect(definition({ interval: seconds(366 * 86_400) }).spec?.interval).toEqual(seconds(366 * 86_400));
  });

  it("jitter: not negative, at most 24 h, less than the time between ticks, only with a timing", () => {
    const field = "schedule.spec.jitter";
    expect(only({ interval: seconds(60), jitter: seconds(-1) })).toEqual({
      field,
      description: "must not be negative",
    });
    expect(only({ interval: seconds(3 * 86_400), jitter: seconds(86_401) })).toEqual({
      field,
      description: "must be at most 24h",
    });
    expect(only({ interval: seconds(60), jitter: seconds(60) })).toEqual({
      field,
      description: "must be less than the time between two ticks (60000 ms)",
    });
    expect(only({ cron: "* * * * * *", jitter: seconds(1) }).description).toContain("(1000 ms)");
    expect(only({ cron: "0 9,10 * * *", jitter: seconds(3600) }).description).toContain("(3600000 ms)");
    expect(only({ jitter: seconds(1) })).toEqual({ field, description: "only with cron or interval" });
    expect(definition({ cron: "0 9,10 * * *", jitter: seconds(3599) }).spec?.jitter).toEqual(seconds(3599));
    expect(definition({ cron: "0 9 * * *", jitter: seconds(0) }).spec?.jitter).toBeUndefined();
  });

  it("start_time before end_time; both only with a timing", () => {
    const t = new Date("2026-06-01T00:00:00Z");
    expect(only({ interval: seconds(60), startTime: t, endTime: t })).toEqual({
      field: "schedule.spec.end_time",
      description: "must be after start_time",
    });
    expect(only({ startTime: t })).toEqual({
      field: "schedule.spec.start_time",
      description: "only with cron or interval",
    });
    expect(only({ cron: "* * * * *", endTime: new Date(-1000) })).toEqual({
      field: "schedule.spec.end_time",
      description: "must be between 1970 and 9999",
    });
  });

  it("the task is validated as SubmitTask validates a spec, under schedule.task", () => {
    expect(only({ cron: "* * * * *" }, { task: undefined })).toEqual({
      field: "schedule.task",
      description: "required",
    });
    expect(only({ cron: "* * * * *" }, { task: { ...subprocess("/bin/true"), exec: undefined } })).toEqual({
      field: "schedule.task.exec",
      description: "required: set one of subprocess, embedded, wasm or container",
    });
    expect(only({ cron: "* * * * *" }, { task: subprocess("") }).field).toBe("schedule.task.subprocess.command");
    expect(
      only({ cron: "* * * * *" }, { task: subprocess("/bin/true", [], { timeout: seconds(8 * 86_400) }) }),
    ).toEqual({
      field: "schedule.task.timeout",
      description: "must be at most 7d",
    });
  });

  it("the task may not set what the schedule sets", () => {
    const scheduledBy = { scheduleId: "x", nominalTime: new Date() };
    expect(only({ cron: "* * * * *" }, { task: { ...subprocess("/bin/true"), scheduledBy } })).toEqual({
      field: "schedule.task.scheduled_by",
      description: "set by the schedule on each fire",
    });
    expect(
      only({ cron: "* * * * *" }, { task: subprocess("/bin/true", [], { trigger: Trigger.TRIGGER_API }) }).field,
    ).toBe("schedule.task.trigger");
    expect(
      only(
        { cron: "* * * * *" },
        { task: subprocess("/bin/true", [], { labels: { "supervisor.dev/schedule": "x" } }) },
      ),
    ).toEqual({
      field: "schedule.task.labels",
      description: "keys under supervisor.dev/ are set by the schedule: supervisor.dev/schedule",
    });
    const labels = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, "v"]));
    expect(only({ cron: "* * * * *" }, { task: subprocess("/bin/true", [], { labels }) })).toEqual({
      field: "schedule.task.labels",
      description: "at most 62 labels: each fired task gets two more",
    });
    expect(
      only({ cron: "* * * * *" }, { task: subprocess("/bin/true", [], { labels: { "bad key": "v" } }) }).field,
    ).toBe("schedule.task.labels");
  });

  it("overlap, catchup_window, labels, note", () => {
    expect(only({ cron: "* * * * *" }, { overlap: 9 as OverlapPolicy })).toEqual({
      field: "schedule.overlap",
      description: "not an overlap policy",
    });
    expect(only({ cron: "* * * * *" }, { catchupWindow: { seconds: 0, nanos: 5e8 } })).toEqual({
      field: "schedule.catchup_window",
      description: "must be between 1s and 366d",
    });
    expect(only({ cron: "* * * * *" }, { catchupWindow: seconds(367 * 86_400) }).field).toBe("schedule.catchup_window");
    expect(only({ cron: "* * * * *" }, { labels: { "-bad": "v" } }).field).toBe("schedule.labels");
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expect(only({ cron: "* * * * *" }, { labels: many })).toEqual({
      field: "schedule.labels",
      description: "at most 64 labels",
    });
    expect(only({ cron: "* * * * *" }, { note: "x".repeat(1025) })).toEqual({
      field: "schedule.note",
      description: "at most 1024 characters",
    });
    expect(definition({ cron: "* * * * *" }, { note: "x".repeat(1024) }).note).toHaveLength(1024);
  });

  it("reports every bad field at once, under the given prefix", () => {
    const violations = violationsThrown(() =>
      validateDefinition(
        scheduleInput({ cron: "nope", interval: seconds(0) }, { id: "", note: "x".repeat(2000) }),
        "s",
      ),
    );
    expect(violations.map((v) => v.field)).toEqual(["s.id", "s.spec", "s.spec.cron", "s.spec.interval", "s.note"]);
  });

  it("stores only client fields, with defaults filled; validating its result changes nothing", () => {
    const input = scheduleInput(
      { cron: "0 3 * * *", timeZone: "Europe/Berlin" },
      {
        status: { nextFireTimes: [new Date()], recentTaskIds: ["t"], missed: 1, skipped: 2, fired: 3 },
        createTime: new Date(),
        updateTime: new Date(),
        generation: 7,
        labels: { team: "a" },
        note: "n",
        paused: true,
      },
    );
    const stored = validateDefinition(input);
    expect(stored.status).toBeUndefined();
    expect(stored.createTime).toBeUndefined();
    expect(stored.updateTime).toBeUndefined();
    expect(stored.generation).toBe(0);
    expect(stored.overlap).toBe(OverlapPolicy.OVERLAP_POLICY_SKIP);
    expect(stored.catchupWindow).toEqual(seconds(60));
    expect(stored.task?.timeout).toEqual(seconds(60)); // SubmitTask's default
    expect(stored.task?.trigger).toBe(Trigger.TRIGGER_SCHEDULE);
    expect(stored).toMatchObject({ id: "nightly", paused: true, labels: { team: "a" }, note: "n" });
    expect(validateDefinition(stored)).toEqual(stored);
  });

  it("a spec with neither cron nor interval is a named definition (no spec stored)", () => {
    expect(definition({}).spec).toBeUndefined();
    expect(definition(undefined).spec).toBeUndefined();
  });
});
