import { status } from "@grpc/grpc-js";
import {
  duration,
  ErrorReason,
  OverlapPolicy,
  SupervisorClient,
  subprocess,
  TaskPhase,
  Trigger,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let runner: RunnerProcess;
let client: SupervisorClient;
beforeAll(async () => {
  server = await startTestServer();
  runner = await startRunner(server.address, "schedule-sdk-runner");
  client = new SupervisorClient({ address: server.address });
});
afterAll(async () => {
  client?.close();
  await runner?.stop();
  await server?.close();
});

/** The hour and minute of `time` on the wall clock of `zone`. */
const wallClock = (time: Date, zone: string) =>
  new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false }).format(time);

describe("client.schedules", () => {
  it("create stores a cron schedule in its time zone: generation 1, the next 5 fire times at 03:00 there", async () => {
    const created = await client.schedules.create({
      id: "sdk-nightly",
      spec: { cron: "0 3 * * *", timeZone: "Europe/Berlin" },
      task: subprocess("echo", ["nightly"]),
      labels: { suite: "schedule-sdk" },
      note: "made by the SDK test",
    });
    expect(created).toMatchObject({ id: "sdk-nightly", generation: 1, paused: false, note: "made by the SDK test" });
    expect(created.overlap).toBe(OverlapPolicy.OVERLAP_POLICY_SKIP);
    expect(created.createTime).toBeInstanceOf(Date);
    const next = created.status!.nextFireTimes;
    expect(next).toHaveLength(5);
    for (const time of next) expect(wallClock(time, "Europe/Berlin")).toBe("03:00");
    for (let i = 1; i < next.length; i++) expect(next[i]!.getTime()).toBeGreaterThan(next[i - 1]!.getTime());
    expect(await client.schedules.get("sdk-nightly")).toMatchObject({ id: "sdk-nightly", generation: 1 });
  });

  it("a taken id is SCHEDULE_EXISTS; an unknown one SCHEDULE_NOT_FOUND", async () => {
    await expectError(
      client.schedules.create({ id: "sdk-nightly", spec: { cron: "@hourly" }, task: subprocess("true") }),
      status.ALREADY_EXISTS,
      ErrorReason.SCHEDULE_EXISTS,
    );
    await expectError(client.schedules.get("sdk-no-such"), status.NOT_FOUND, ErrorReason.SCHEDULE_NOT_FOUND);
  });

  it("a bad cron is INVALID_ARGUMENT naming schedule.spec.cron", async () => {
    const error = await expectError(
      client.schedules.create({ id: "sdk-bad", spec: { cron: "61 * * * *" }, task: subprocess("true") }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((violation) => violation.field)).toContain("schedule.spec.cron");
  });

  it("list iterates every page by id, filtered by the schedules' labels; listPage gives one page", async () => {
    for (const id of ["sdk-list-c", "sdk-list-a", "sdk-list-b"])
      await client.schedules.create({
        id,
        spec: { interval: duration("1h") },
        task: subprocess("true"),
        labels: { group: "sdk-list" },
      });
    const ids: string[] = [];
    for await (const schedule of client.schedules.list({ labelSelector: "group=sdk-list", pageSize: 1 }))
      ids.push(schedule.id);
    expect(ids).toEqual(["sdk-list-a", "sdk-list-b", "sdk-list-c"]);
    const first = await client.schedules.listPage({ labelSelector: "group=sdk-list", pageSize: 2 });
    expect(first.schedules.map((s) => s.id)).toEqual(["sdk-list-a", "sdk-list-b"]);
    expect(first.nextPageToken).not.toBe("");
  });

  it("update changes only the fields in the mask; generation goes up", async () => {
    const updated = await client.schedules.update({ id: "sdk-nightly", note: "changed", spec: { cron: "@hourly" } }, [
      "note",
    ]);
    expect(updated).toMatchObject({ note: "changed", generation: 2 });
    expect(updated.spec?.cron).toBe("0 3 * * *"); // not in the mask
    const recron = await client.schedules.update({ id: "sdk-nightly", spec: { cron: "30 4 * * *" } }, ["spec.cron"]);
    expect(recron.spec).toMatchObject({ cron: "30 4 * * *", timeZone: "Europe/Berlin" });
    for (const time of recron.status!.nextFireTimes) expect(wallClock(time, "Europe/Berlin")).toBe("04:30");
  });

  it("pause empties the next fire times (twice is fine); unpause brings them back", async () => {
    const paused = await client.schedules.pause("sdk-nightly", "maintenance");
    expect(paused).toMatchObject({ paused: true, note: "maintenance" });
    expect(paused.status!.nextFireTimes).toEqual([]);
    expect((await client.schedules.pause("sdk-nightly")).paused).toBe(true);
    const unpaused = await client.schedules.unpause("sdk-nightly");
    expect(unpaused.paused).toBe(false);
    expect(unpaused.status!.nextFireTimes).toHaveLength(5);
  });

  it("trigger fires a named definition now, with overrides: a TRIGGER_SCHEDULE task labelled with the schedule", async () => {
    await client.schedules.create({
      id: "sdk-greet",
      task: subprocess("echo", ["hello"], { labels: { app: "greet" } }),
    });
    const task = await client.schedules.trigger("sdk-greet", {
      overrides: { args: ["bye"], replaceArgs: true, env: { GREETING: "1" }, labels: { run: "manual" } },
    });
    expect(task.spec!.trigger).toBe(Trigger.TRIGGER_SCHEDULE);
    expect(task.spec!.scheduledBy?.scheduleId).toBe("sdk-greet");
    expect(task.spec!.labels).toMatchObject({ app: "greet", run: "manual", "supervisor.dev/schedule": "sdk-greet" });
    expect(task.spec!.labels["supervisor.dev/nominal-time"]).toMatch(/^\d{8}T\d{6}Z$/);
    expect(task.spec!.exec).toMatchObject({
      $case: "subprocess",
      value: { command: "echo", args: ["bye"], env: { GREETING: "1" } },
    });
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const schedule = await client.schedules.get("sdk-greet");
    expect(schedule.status).toMatchObject({ recentTaskIds: [task.id], fired: 1 });
    expect(schedule.status!.lastFireTime).toBeInstanceOf(Date);
    const listed = [];
    for await (const t of client.list({ filter: { labelSelector: "supervisor.dev/schedule=sdk-greet" } }))
      listed.push(t.id);
    expect(listed).toEqual([task.id]);
  });

  it("a trigger repeated with its request id fires once", async () => {
    const first = await client.schedules.trigger("sdk-greet", { requestId: "sdk-greet-once" });
    const again = await client.schedules.trigger("sdk-greet", { requestId: "sdk-greet-once" });
    expect(again.id).toBe(first.id);
  });

  it("delete: the schedule is gone, the tasks it fired stay", async () => {
    const fired = (await client.schedules.get("sdk-greet")).status!.recentTaskIds;
    await client.schedules.delete("sdk-greet");
    await expectError(client.schedules.get("sdk-greet"), status.NOT_FOUND, ErrorReason.SCHEDULE_NOT_FOUND);
    await expectError(client.schedules.trigger("sdk-greet"), status.NOT_FOUND, ErrorReason.SCHEDULE_NOT_FOUND);
    for (const id of fired) expect((await client.get(id)).id).toBe(id);
  });
});
