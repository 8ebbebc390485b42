import { credentials, status } from "@grpc/grpc-js";
import {
  ErrorReason,
  OverlapPolicy,
  Schedule,
  ScheduleServiceClient,
  type ScheduleSpec,
  TaskPhase,
  Trigger,
} from "@supervisor/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { healthStatus } from "./helpers/health.js";
import { listServices } from "./helpers/reflection.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

// ScheduleService over a real server: definitions, pages, changes, triggers and every refusal. Firing on
// a timetable is in schedules-firing.test.ts.

let server: TestServer;
let schedules: ScheduleServiceClient;
beforeEach(async () => {
  server = await startTestServer();
  schedules = new ScheduleServiceClient(server.address, credentials.createInsecure());
});
afterEach(async () => {
  schedules.close();
  await server.close();
});

type ScheduleInput = Omit<Partial<Schedule>, "spec"> & { spec?: Partial<ScheduleSpec> };

const create = (schedule: ScheduleInput) =>
  call(rpc(schedules, "createSchedule"), { schedule: definition(schedule) }).then((r) => r.schedule!);

function definition(schedule: ScheduleInput): Schedule {
  const { spec, ...rest } = schedule;
  return {
    ...Schedule.fromPartial({ id: "nightly" }),
    task: subprocessSpec("echo", ["hi"]),
    ...rest,
    spec: spec && { cron: "", timeZone: "", ...spec },
  };
}

/** The field of the one violation an INVALID_ARGUMENT carries. */
async function badField(promise: Promise<unknown>): Promise<string[]> {
  const error = await expectError(promise, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
  expect(error.fieldViolations.every((v) => v.description.length > 0)).toBe(true);
  return error.fieldViolations.map((v) => v.field);
}

describe("ScheduleService definitions", () => {
  it("stores a cron schedule and answers it with its next five fire times", async () => {
    const created = await create({ spec: { cron: "0 3 * * *", timeZone: "Europe/Berlin" }, labels: { team: "a" } });
    expect(created).toMatchObject({ id: "nightly", generation: 1, labels: { team: "a" } });
    expect(created.spec).toMatchObject({ cron: "0 3 * * *", timeZone: "Europe/Berlin" });
    expect(created.status!.nextFireTimes).toHaveLength(5);
    const gaps = created
      .status!.nextFireTimes.slice(1)
      .map((t, i) => t.getTime() - created.status!.nextFireTimes[i]!.getTime());
    // Daily at 03:00 Berlin time: a day apart, give or take a daylight-saving hour.
    for (const gap of gaps) expect(Math.abs(gap - 86_400_000)).toBeLessThanOrEqual(3_600_000);
    const got = await call(rpc(schedules, "getSchedule"), { id: "nightly" });
    expect(got.schedule).toEqual(created);
  });

  it("a schedule with neither cron nor interval is a named definition: no fire times, fired by trigger", async () => {
    const created = await create({
      id: "deploy",
      task: subprocessSpec("deploy", ["--env", "staging"], { labels: { app: "web" } }),
    });
    expect(created.status!.nextFireTimes).toEqual([]);
    const { task } = await call(rpc(schedules, "triggerSchedule"), {
      id: "deploy",
      requestId: "deploy-1",
      overrides: { args: ["--env", "prod"], replaceArgs: true, env: { DRY: "0" }, labels: { run: "manual" } },
    });
    expect(task!.spec!.trigger).toBe(Trigger.TRIGGER_SCHEDULE);
    expect(task!.spec!.scheduledBy!.scheduleId).toBe("deploy");
    expect(task!.spec!.exec).toEqual({
      $case: "subprocess",
      value: expect.objectContaining({ command: "deploy", args: ["--env", "prod"], env: { DRY: "0" } }),
    });
    expect(task!.spec!.labels).toMatchObject({ app: "web", run: "manual", "supervisor.dev/schedule": "deploy" });
    // The same request id is the same fire.
    const again = await call(rpc(schedules, "triggerSchedule"), {
      id: "deploy",
      requestId: "deploy-1",
      overrides: { args: ["--env", "prod"], replaceArgs: true, env: { DRY: "0" }, labels: { run: "manual" } },
    });
    expect(again.task!.id).toBe(task!.id);
    const got = (await call(rpc(schedules, "getSchedule"), { id: "deploy" })).schedule!;
    expect(got.status).toMatchObject({ fired: 1, recentTaskIds: [task!.id] });
    expect(got.status!.lastFireTime!.getTime()).toBe(task!.spec!.scheduledBy!.nominalTime!.getTime());
    // Its tasks are listed by the schedule's label.
    const listed = await call(rpc(server.tasks, "listTasks"), {
      pageSize: 10,
      pageToken: "",
      filter: {
        slot: "",
        phases: [],
        labelSelector: "supervisor.dev/schedule=deploy",
        runnerId: "",
        idPrefix: "",
        parentId: "",
      },
    });
    expect(listed.tasks.map((t) => t.id)).toEqual([task!.id]);
  });

  it("a trigger under SKIP with the last fire still active is refused SLOT_BUSY; ALLOW_ALL fires again", async () => {
    await create({ id: "skip", overlap: OverlapPolicy.OVERLAP_POLICY_SKIP });
    const first = await call(rpc(schedules, "triggerSchedule"), { id: "skip", requestId: "a" });
    expect(first.task!.spec!.slot).toBe("schedule/skip");
    await expectError(
      call(rpc(schedules, "triggerSchedule"), { id: "skip", requestId: "b" }),
      status.FAILED_PRECONDITION,
      ErrorReason.SLOT_BUSY,
    );
    await create({ id: "all", overlap: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL });
    // Request ids are one namespace with SubmitTask's: these are new ones.
    const one = await call(rpc(schedules, "triggerSchedule"), { id: "all", requestId: "c" });
    const two = await call(rpc(schedules, "triggerSchedule"), { id: "all", requestId: "d" });
    expect(one.task!.id).not.toBe(two.task!.id);
    expect([one.task!.status!.phase, two.task!.status!.phase]).toEqual([
      TaskPhase.TASK_PHASE_PENDING,
      TaskPhase.TASK_PHASE_PENDING,
    ]);
  });

  it("update changes only the masked fields, keeps the status and counts a generation", async () => {
    await create({ spec: { interval: { seconds: 60, nanos: 0 } }, note: "first", labels: { team: "a" } });
    await call(rpc(schedules, "triggerSchedule"), { id: "nightly", requestId: "t1" });
    const { schedule } = await call(rpc(schedules, "updateSchedule"), {
      schedule: definition({ spec: { cron: "*/5 * * * *" }, note: "ignored: not in the mask", labels: { team: "b" } }),
      updateMask: ["spec", "labels"],
    });
    expect(schedule).toMatchObject({
      generation: 2,
      note: "first",
      labels: { team: "b" },
      spec: { cron: "*/5 * * * *" },
    });
    expect(schedule!.status!.fired).toBe(1);
    for (const time of schedule!.status!.nextFireTimes) expect(time.getTime() % 300_000).toBe(0);
    // No mask: every field set in the patch.
    const noted = await call(rpc(schedules, "updateSchedule"), {
      schedule: { ...definition({}), note: "second", task: undefined },
    });
    expect(noted.schedule).toMatchObject({ generation: 3, note: "second", spec: { cron: "*/5 * * * *" } });
  });

  it("pause and unpause are idempotent and replace the note", async () => {
    await create({ spec: { interval: { seconds: 60, nanos: 0 } } });
    const paused = (await call(rpc(schedules, "pauseSchedule"), { id: "nightly", note: "db migration" })).schedule!;
    expect(paused).toMatchObject({ paused: true, note: "db migration", generation: 2 });
    expect(paused.status!.nextFireTimes).toEqual([]);
    const again = (await call(rpc(schedules, "pauseSchedule"), { id: "nightly", note: "" })).schedule!;
    expect(again).toMatchObject({ paused: true, note: "db migration", generation: 2 });
    const unpaused = (await call(rpc(schedules, "unpauseSchedule"), { id: "nightly", note: "" })).schedule!;
    expect(unpaused).toMatchObject({ paused: false, generation: 3 });
    expect(unpaused.status!.nextFireTimes).toHaveLength(5);
  });

  it("delete removes it and keeps the tasks it fired", async () => {
    await create({});
    const { task } = await call(rpc(schedules, "triggerSchedule"), { id: "nightly", requestId: "x" });
    await call(rpc(schedules, "deleteSchedule"), { id: "nightly" });
    await expectError(
      call(rpc(schedules, "getSchedule"), { id: "nightly" }),
      status.NOT_FOUND,
      ErrorReason.SCHEDULE_NOT_FOUND,
    );
    expect((await call(rpc(server.tasks, "getTask"), { id: task!.id })).task!.id).toBe(task!.id);
    // The id is free again.
    expect((await create({})).generation).toBe(1);
  });

  it("lists by id in keyset pages, filtered by a label selector", async () => {
    for (const [id, team] of [
      ["e", "a"],
      ["b", "b"],
      ["d", "a"],
      ["a", "a"],
      ["c", "b"],
      ["f", "a"],
    ] as const) {
      await create({ id: `s-${id}`, labels: { team } });
    }
    const ids: string[][] = [];
    let pageToken = "";
    do {
      const page = await call(rpc(schedules, "listSchedules"), { pageSize: 2, pageToken, labelSelector: "team=a" });
      ids.push(page.schedules.map((s) => s.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(ids.flat()).toEqual(["s-a", "s-d", "s-e", "s-f"]);
    expect(ids.every((page) => page.length <= 2)).toBe(true);
    const all = await call(rpc(schedules, "listSchedules"), { pageSize: 0, pageToken: "", labelSelector: "" });
    expect(all.schedules.map((s) => s.id)).toEqual(["s-a", "s-b", "s-c", "s-d", "s-e", "s-f"]);
    expect(all.nextPageToken).toBe("");
  });

  it("is served by health and reflection", async () => {
    expect(await healthStatus(server.address, "supervisor.v1.ScheduleService")).toBe("SERVING");
    expect(await listServices(server.address, "v1")).toContain("supervisor.v1.ScheduleService");
  });
});

describe("ScheduleService refusals", () => {
  it.each([
    ["a bad cron", { spec: { cron: "61 * * * *" } }, "schedule.spec.cron"],
    ["a 7-field cron", { spec: { cron: "0 0 0 * * * 2030" } }, "schedule.spec.cron"],
    ["an unknown time zone", { spec: { cron: "0 3 * * *", timeZone: "Mars/Olympus" } }, "schedule.spec.time_zone"],
    [
      "an interval under a second",
      { spec: { interval: { seconds: 0, nanos: 500_000_000 } } },
      "schedule.spec.interval",
    ],
    ["an id that is no DNS label", { id: "Nightly_Job" }, "schedule.id"],
    ["no task", { task: undefined }, "schedule.task"],
    ["a task without exec", { task: { ...subprocessSpec(), exec: undefined } }, "schedule.task.exec"],
    [
      "a task that sets scheduled_by",
      { task: subprocessSpec("echo", [], { scheduledBy: { scheduleId: "x" } }) },
      "schedule.task.scheduled_by",
    ],
    [
      "a catch-up window over 366 days",
      { catchupWindow: { seconds: 367 * 86_400, nanos: 0 } },
      "schedule.catchup_window",
    ],
  ])("%s: INVALID_ARGUMENT naming the field", async (_, schedule, field) => {
    expect(await badField(create(schedule as ScheduleInput))).toContain(field);
    await expectError(
      call(rpc(schedules, "getSchedule"), { id: "nightly" }),
      status.NOT_FOUND,
      ErrorReason.SCHEDULE_NOT_FOUND,
    );
  });

  it("cron and interval at once name the spec", async () => {
    const fields = await badField(create({ spec: { cron: "* * * * *", interval: { seconds: 60, nanos: 0 } } }));
    expect(fields.some((f) => f.startsWith("schedule.spec"))).toBe(true);
  });

  it("a cron's violation carries the parser's explanation", async () => {
    const error = await expectError(
      create({ spec: { cron: "not a cron" } }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations[0]!.description.length).toBeGreaterThan(10);
  });

  it("an id taken: ALREADY_EXISTS / SCHEDULE_EXISTS, and the first definition stays", async () => {
    await create({ note: "first" });
    await expectError(create({ note: "second" }), status.ALREADY_EXISTS, ErrorReason.SCHEDULE_EXISTS);
    expect((await call(rpc(schedules, "getSchedule"), { id: "nightly" })).schedule!.note).toBe("first");
  });

  it("every method on an unknown id: NOT_FOUND / SCHEDULE_NOT_FOUND", async () => {
    const id = "missing";
    for (const attempt of [
      () => call(rpc(schedules, "getSchedule"), { id }),
      () => call(rpc(schedules, "deleteSchedule"), { id }),
      () => call(rpc(schedules, "pauseSchedule"), { id, note: "" }),
      () => call(rpc(schedules, "unpauseSchedule"), { id, note: "" }),
      () => call(rpc(schedules, "triggerSchedule"), { id, requestId: "" }),
      () => call(rpc(schedules, "updateSchedule"), { schedule: definition({ id }), updateMask: ["note"] }),
    ]) {
      await expectError(attempt(), status.NOT_FOUND, ErrorReason.SCHEDULE_NOT_FOUND);
    }
  });

  it("an update mask naming an output-only or unknown field: INVALID_ARGUMENT on update_mask", async () => {
    await create({});
    for (const path of ["status", "generation", "nope"]) {
      const fields = await badField(
        call(rpc(schedules, "updateSchedule"), { schedule: definition({}), updateMask: [path] }),
      );
      expect(fields).toContain("update_mask");
    }
  });

  it("a bad label selector or page token when listing", async () => {
    await expectError(
      call(rpc(schedules, "listSchedules"), { pageSize: 0, pageToken: "", labelSelector: "team in (" }),
      status.INVALID_ARGUMENT,
      ErrorReason.LABEL_SELECTOR_INVALID,
    );
    await expectError(
      call(rpc(schedules, "listSchedules"), { pageSize: 0, pageToken: "garbage", labelSelector: "" }),
      status.INVALID_ARGUMENT,
      ErrorReason.PAGE_TOKEN_INVALID,
    );
  });

  it("SubmitTask with scheduled_by: INVALID_ARGUMENT on spec.scheduled_by", async () => {
    const spec = subprocessSpec("echo", [], { scheduledBy: { scheduleId: "forged", nominalTime: new Date() } });
    expect(await badField(call(rpc(server.tasks, "submitTask"), submitRequest(spec)))).toEqual(["spec.scheduled_by"]);
  });
});
