import {
  AdmissionPolicy,
  OverlapPolicy,
  RestartPolicy,
  Schedule,
  subprocess,
  type TaskSpec,
  triggerRequest,
} from "@supervisor/sdk";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { CommandLineError, routeErrors } from "../../cli/src/command-line.js";
import { withScheduleFlags } from "../../cli/src/schedule.js";
import { SCHEDULE_HEADER, scheduleRow, whenText } from "../../cli/src/schedule-format.js";
import { createRequest, type ScheduleOptions, triggerOptions, updateRequest } from "../../cli/src/schedule-options.js";

/** The real `schedule create|update` flags parsed from `argv`; returns what the action would get. */
function parse(verb: "create" | "update", argv: string[]) {
  const command = new Command(verb)
    .argument("<id>")
    .argument(verb === "create" ? "<command>" : "[command]")
    .argument("[args...]");
  withScheduleFlags(command, verb === "update");
  routeErrors(command);
  let parsed: { id: string; program?: string; args: string[]; options: ScheduleOptions } | undefined;
  command.action((id: string, program: string | undefined, args: string[], options: ScheduleOptions) => {
    parsed = { id, program, args, options };
  });
  command.parse(argv, { from: "user" });
  return { command, ...parsed! };
}

const create = (...argv: string[]) => {
  const { command, id, program, args, options } = parse("create", argv);
  return createRequest(command, id, { command: program!, args }, options).schedule!;
};
const update = (argv: string[], current?: TaskSpec) => {
  const { command, id, program, args, options } = parse("update", argv);
  return updateRequest(command, id, options, program === undefined ? undefined : { command: program, args }, current);
};
/** The one-line message of a usage mistake (exit 2), found by commander or by the mapping. */
const mistake = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof CommandLineError) return error.message;
    throw error;
  }
  throw new Error("no usage mistake");
};

describe("schedule create: flags → CreateScheduleRequest", () => {
  it("maps every schedule flag and the task flags, as submit reads them", () => {
    const schedule = create(
      "nightly",
      "--cron",
      "0 3 * * *",
      "--tz",
      "Europe/Berlin",
      "--overlap",
      "buffer-one",
      "--catchup",
      "5m",
      "--jitter",
      "30s",
      "--start",
      "2030-01-01T00:00:00Z",
      "--end",
      "2031-01-01T00:00:00Z",
      "--paused",
      "--note",
      "backs up the db",
      "-l",
      "team=ops",
      "--schedule-label",
      "tier=db",
      "--slot",
      "backup",
      "--timeout",
      "10m",
      "--label",
      "kind=backup",
      "--env",
      "MODE=full",
      "--max-attempts",
      "2",
      "--",
      "pg_dump",
      "-Fc",
      "app",
    );
    expect(schedule).toEqual(
      Schedule.fromPartial({
        id: "nightly",
        spec: {
          cron: "0 3 * * *",
          timeZone: "Europe/Berlin",
          jitter: { seconds: 30, nanos: 0 },
          startTime: new Date("2030-01-01T00:00:00Z"),
          endTime: new Date("2031-01-01T00:00:00Z"),
        },
        task: subprocess("pg_dump", ["-Fc", "app"], {
          env: { MODE: "full" },
          slot: "backup",
          admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
          labels: { kind: "backup" },
          timeout: { seconds: 600, nanos: 0 },
          restart: RestartPolicy.RESTART_POLICY_ON_FAILURE, // --max-attempts alone: on-failure, as on a submit
          maxAttempts: 2,
        }),
        overlap: OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE,
        catchupWindow: { seconds: 300, nanos: 0 },
        paused: true,
        labels: { team: "ops", tier: "db" },
        note: "backs up the db",
      }),
    );
  });

  it("--every is the interval; the defaults are overlap skip and submit's task defaults", () => {
    const schedule = create("poll", "--every", "1h30m", "--", "curl", "-fsS", "http://x");
    expect(schedule.spec).toMatchObject({ cron: "", interval: { seconds: 5400, nanos: 0 }, timeZone: "" });
    expect(schedule.overlap).toBe(OverlapPolicy.OVERLAP_POLICY_SKIP);
    expect(schedule.catchupWindow).toBeUndefined();
    expect(schedule.paused).toBe(false);
    expect(schedule.task).toMatchObject({
      timeout: { seconds: 60, nanos: 0 },
      restart: RestartPolicy.RESTART_POLICY_NEVER,
      admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
      labels: {},
    });
  });

  it("with neither --cron nor --every it is a named definition: no spec", () => {
    const schedule = create("reindex", "--", "reindex.sh");
    expect(schedule.spec).toBeUndefined();
    expect(schedule.task?.exec).toEqual({
      $case: "subprocess",
      value: { command: "reindex.sh", args: [], env: {}, workingDir: "" },
    });
  });

  it("6 fields and nicknames are taken as written", () => {
    expect(create("s", "--cron", "*/10 * * * * *", "--", "true").spec?.cron).toBe("*/10 * * * * *");
    expect(create("d", "--cron", "@daily", "--", "true").spec?.cron).toBe("@daily");
  });

  it.each([
    [["--cron", "* * *"], "got 3 fields"],
    [["--cron", "* * * * *", "--every", "5m"], "--cron and --every each say when it fires: give one"],
    [["--tz", "Europe/Berlin"], "--tz is the time zone of --cron: it needs --cron"],
    [["--cron", "@daily", "--tz", "Mars/Olympus"], 'Unknown time zone "Mars/Olympus"'],
    [["--every", "5 minutes"], "Expected a duration such as"],
    [["--every", "5m", "--overlap", "sometimes"], "Allowed choices are skip, buffer-one, allow-all, cancel-other"],
    [["--jitter", "10s"], "--jitter, --start and --end shape the ticks of --cron or --every"],
    [["--every", "1h", "--start", "2030-01-02T00:00:00Z", "--end", "2030-01-01T00:00:00Z"], "--end must be after"],
    [["--every", "1h", "--slot", "s", "--admission", "queue"], "--admission applies only with --overlap allow-all"],
    [["--every", "1h", "--overlap", "allow-all", "--admission", "queue"], "it needs --slot"],
    [["--every", "1h", "-l", "team"], "--schedule-label takes key=value"],
  ])("refuses %j as a usage mistake", (flags, message) => {
    expect(mistake(() => create("s", ...flags, "--", "true"))).toContain(message);
  });

  it("--admission is the template's with --overlap allow-all", () => {
    const schedule = create(
      "s",
      "--every",
      "1h",
      "--overlap",
      "allow-all",
      "--slot",
      "s",
      "--admission",
      "queue",
      "--",
      "x",
    );
    expect(schedule.task).toMatchObject({ slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE });
  });
});

describe("schedule update: only the flags given, in the update mask", () => {
  const current = subprocess("backup.sh", ["--full"], {
    env: { A: "1" },
    slot: "backup",
    labels: { kind: "backup" },
    timeout: { seconds: 60, nanos: 0 },
    restart: RestartPolicy.RESTART_POLICY_NEVER,
  });

  it("--cron sets the cron and clears the interval (they exclude each other)", () => {
    const { schedule, updateMask } = update(["s", "--cron", "0 * * * *"]);
    expect(updateMask).toEqual(["spec.cron", "spec.interval"]);
    expect(schedule?.spec).toMatchObject({ cron: "0 * * * *", interval: undefined });
    expect(schedule?.id).toBe("s");
  });

  it("--every sets the interval and clears the cron; --on-demand clears both", () => {
    const every = update(["s", "--every", "10s"]);
    expect(every.updateMask).toEqual(["spec.cron", "spec.interval"]);
    expect(every.schedule?.spec).toMatchObject({ cron: "", interval: { seconds: 10, nanos: 0 } });
    const onDemand = update(["s", "--on-demand"]);
    expect(onDemand.updateMask).toEqual(["spec.cron", "spec.interval"]);
    expect(onDemand.schedule?.spec).toMatchObject({ cron: "", interval: undefined });
  });

  it("each schedule flag is its own path", () => {
    const { schedule, updateMask } = update([
      "s",
      "--tz",
      "America/New_York",
      "--jitter",
      "1m",
      "--end",
      "2032-01-01T00:00:00Z",
      "--overlap",
      "cancel-other",
      "--catchup",
      "1h",
      "--note",
      "",
      "-l",
      "team=b",
    ]);
    expect(updateMask).toEqual([
      "spec.time_zone",
      "spec.jitter",
      "spec.end_time",
      "overlap",
      "catchup_window",
      "note",
      "labels",
    ]);
    expect(schedule).toMatchObject({
      spec: { timeZone: "America/New_York", jitter: { seconds: 60, nanos: 0 }, endTime: new Date("2032-01-01Z") },
      overlap: OverlapPolicy.OVERLAP_POLICY_CANCEL_OTHER,
      catchupWindow: { seconds: 3600, nanos: 0 },
      note: "",
      labels: { team: "b" },
    });
  });

  it("a task flag changes only that field of the stored template, sent whole under the path task", () => {
    const { schedule, updateMask } = update(["s", "--timeout", "5m"], current);
    expect(updateMask).toEqual(["task"]);
    expect(schedule?.task).toEqual({ ...current, timeout: { seconds: 300, nanos: 0 } });
  });

  it("`-- command args` replaces the program and keeps the env; --max-attempts alone turns on-failure on", () => {
    const { schedule } = update(["s", "--max-attempts", "4", "--", "backup.sh", "--incremental"], current);
    expect(schedule?.task?.exec).toEqual({
      $case: "subprocess",
      value: { command: "backup.sh", args: ["--incremental"], env: { A: "1" }, workingDir: "" },
    });
    expect(schedule?.task).toMatchObject({
      restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
      maxAttempts: 4,
      slot: "backup",
      labels: { kind: "backup" },
    });
  });

  it("no flag at all, or contradicting ones, is a usage mistake", () => {
    expect(mistake(() => update(["s"]))).toContain("nothing to change");
    expect(mistake(() => update(["s", "--cron", "@hourly", "--on-demand"]))).toContain(
      "--cron and --on-demand each say when it fires",
    );
    expect(mistake(() => update(["s", "--overlap", "skip", "--admission", "queue", "--slot", "x"], current))).toContain(
      "--admission applies only with --overlap allow-all",
    );
  });
});

describe("schedule trigger: flags → overrides", () => {
  const command = () => {
    const bare = new Command("trigger");
    routeErrors(bare);
    return bare;
  };

  it("no flag: no overrides; --arg replaces the args; --env and --label are merged by the server", () => {
    expect(triggerOptions(command(), {})).toEqual({ requestId: undefined, overrides: undefined });
    expect(triggerOptions(command(), { arg: ["a", "b"], env: { X: "1" }, label: { run: "manual" } })).toEqual({
      requestId: undefined,
      overrides: {
        args: ["a", "b"],
        replaceArgs: true,
        env: { X: "1" },
        labels: { run: "manual" },
        payload: undefined,
      },
    });
    expect(triggerOptions(command(), { clearArgs: true, requestId: "r1" })).toEqual({
      requestId: "r1",
      overrides: { args: [], replaceArgs: true, env: {}, labels: {}, payload: undefined },
    });
    expect(mistake(() => triggerOptions(command(), { clearArgs: true, arg: ["x"] }))).toContain("give one");
  });

  it("the SDK always sends a request id: the one given, or a new one per trigger", () => {
    expect(triggerRequest("s", { requestId: "mine" }).requestId).toBe("mine");
    const first = triggerRequest("s").requestId;
    const second = triggerRequest("s").requestId;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).not.toBe(first);
    expect(triggerRequest("s", { overrides: { env: { A: "1" } } }).overrides).toEqual({
      args: [],
      replaceArgs: false,
      env: { A: "1" },
      payload: undefined,
      labels: {},
    });
  });
});

describe("schedule list: a row per schedule", () => {
  it("says when it fires: cron and zone, every <interval>, or on demand", () => {
    expect(whenText(Schedule.fromPartial({ spec: { cron: "0 3 * * *", timeZone: "Europe/Berlin" } }))).toBe(
      "0 3 * * * Europe/Berlin",
    );
    expect(whenText(Schedule.fromPartial({ spec: { cron: "@hourly" } }))).toBe("@hourly UTC");
    expect(whenText(Schedule.fromPartial({ spec: { interval: { seconds: 90, nanos: 0 } } }))).toBe("every 90s");
    expect(whenText(Schedule.fromPartial({}))).toBe("on demand");
  });

  it("has the columns id, when, overlap, paused, next fire, last fire, fired/missed/skipped", () => {
    const row = scheduleRow(
      Schedule.fromPartial({
        id: "nightly",
        spec: { interval: { seconds: 300, nanos: 0 } },
        overlap: OverlapPolicy.OVERLAP_POLICY_UNSPECIFIED,
        paused: true,
        status: {
          nextFireTimes: [new Date("2030-01-01T00:05:00Z")],
          lastFireTime: new Date("2030-01-01T00:00:00Z"),
          fired: 7,
          missed: 2,
          skipped: 1,
        },
      }),
    );
    expect(SCHEDULE_HEADER).toHaveLength(row.length);
    expect(row).toEqual([
      "nightly",
      "every 5m",
      "skip",
      "yes",
      "2030-01-01T00:05:00.000Z",
      "2030-01-01T00:00:00.000Z",
      "7/2/1",
    ]);
  });
});
