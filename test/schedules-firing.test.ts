import { credentials, status as grpcStatus } from "@grpc/grpc-js";
import {
  type Duration,
  ErrorReason,
  OverlapPolicy,
  type Schedule,
  ScheduleServiceClient,
  type ScheduleSpec,
  type Task,
  TaskPhase,
  TaskReason,
  Trigger,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "./helpers/fake-clock.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { scheduleTasks } from "./helpers/list-all.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

// The scheduler of a real server on a fake clock: days of schedule time in milliseconds. The clock is
// moved to each tick (or just past it) and the test waits for that tick's task, so every fire is the
// scheduler's own, on time; nothing here waits on real time.

const T0 = Date.UTC(2030, 0, 1);
const SECOND: Duration = { seconds: 1, nanos: 0 };

let server: TestServer | undefined;
let schedules: ScheduleServiceClient | undefined;
afterEach(async () => {
  schedules?.close();
  await server?.close();
  server = schedules = undefined;
});

async function start(clock: FakeClock) {
  server = await startTestServer({}, { clock, timers: clock });
  schedules = new ScheduleServiceClient(server.address, credentials.createInsecure());
  return { server, schedules };
}

const create = (spec: Partial<ScheduleSpec> | undefined, extra: Partial<Schedule> = {}) =>
  call(rpc(schedules!, "createSchedule"), {
    schedule: {
      id: "job",
      spec: spec && { cron: "", timeZone: "", ...spec },
      task: subprocessSpec("echo", ["tick"]),
      overlap: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
      labels: {},
      note: "",
      paused: false,
      generation: 0,
      ...extra,
    },
  }).then((r) => r.schedule!);

const status = (id = "job") => call(rpc(schedules!, "getSchedule"), { id }).then((r) => r.schedule!.status!);

/** The tasks a schedule fired, oldest tick first. */
async function fired(id = "job"): Promise<Task[]> {
  return (await scheduleTasks(server!.tasks, id)).sort((a, b) => nominal(a) - nominal(b));
}

const nominal = (task: Task) => task.spec!.scheduledBy!.nominalTime!.getTime();

/**
 * Moves the clock to `atMs` and waits until the schedule has fired `count` tasks. One tick at a time:
 * the scheduler arms its next timer when a pass is done, after real I/O, so in a jump over several
 * ticks the later ones would be fired late (at the end of the jump), not at their time.
 */
async function tickTo(clock: FakeClock, atMs: number, count: number, id = "job", jump = false): Promise<Task[]> {
  // A jump of hours: each timer due meanwhile fires once, at the end (a stalled process), instead of
  // every heartbeat and lease renewal of the way one after another.
  await (jump ? clock.stallToAsync(atMs) : clock.advanceToAsync(atMs));
  return waitUntil(async () => {
    // Time stands still; a timer the scheduler armed for this very instant (its pass ended after the
    // clock got here) fires now.
    await clock.advanceAsync(0);
    const tasks = await fired(id);
    return tasks.length >= count ? tasks : undefined;
  }, `${count} tasks of ${id}`);
}

describe("the scheduler on a fake clock", () => {
  it("an interval fires each tick once, a task marked with its schedule and tick", async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    await create({ interval: SECOND });
    let tasks: Task[] = [];
    for (let k = 1; k <= 5; k++) tasks = await tickTo(clock, T0 + k * 1000, k);
    expect(tasks.map(nominal)).toEqual([1, 2, 3, 4, 5].map((k) => T0 + k * 1000));
    for (const task of tasks) {
      expect(task.spec!.trigger).toBe(Trigger.TRIGGER_SCHEDULE);
      expect(task.spec!.scheduledBy!.scheduleId).toBe("job");
      expect(task.requestId).toBe(`schedule:job:${nominal(task)}`);
      expect(task.spec!.labels["supervisor.dev/schedule"]).toBe("job");
    }
    expect(tasks[0]!.spec!.labels["supervisor.dev/nominal-time"]).toBe("20300101T000001Z");
    const now = await status();
    expect(now).toMatchObject({ fired: 5, missed: 0, skipped: 0 });
    expect(now.lastFireTime!.getTime()).toBe(T0 + 5000);
    expect(now.recentTaskIds).toEqual(tasks.map((t) => t.id).reverse());
    expect(now.nextFireTimes.map((t) => t.getTime())).toEqual([6, 7, 8, 9, 10].map((k) => T0 + k * 1000));
  });

  it("after the server was down, ticks within the catch-up window fire oldest first; older ones count as missed", async () => {
    const clock = new FakeClock(T0);
    const { server } = await start(clock);
    await create({ interval: SECOND }, { catchupWindow: { seconds: 10, nanos: 0 } });
    await tickTo(clock, T0 + 1000, 1);
    // Down for 100 s: ticks 2..101 are due when it is back.
    await server.restart(() => clock.advanceTo(T0 + 101_000));
    schedules!.close();
    schedules = new ScheduleServiceClient(server.address, credentials.createInsecure());
    const after = await waitUntil(async () => {
      const s = await status();
      return s.fired + s.missed === 101 ? s : undefined;
    }, "every tick through 101 handled");
    const tasks = await fired();
    expect(tasks.length).toBe(after.fired);
    const late = tasks.slice(1).map((t) => (nominal(t) - T0) / 1000);
    // The window's ticks, consecutive and ending with the newest; oldest first by task id too.
    expect(late.at(-1)).toBe(101);
    expect(late).toEqual(late.map((_, i) => late[0]! + i));
    expect(late.length === 10 || late.length === 11).toBe(true);
    expect(after.missed).toBe(100 - late.length);
    const byId = [...tasks].sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(byId.map((t) => t.id)).toEqual(tasks.map((t) => t.id));
  });

  it("a daily 02:30 in Europe/Berlin fires once on the spring-forward day", async () => {
    // 2030-03-31: at 02:00 CET the clocks jump to 03:00 CEST, so 02:30 never happens that day.
    const clock = new FakeClock(Date.UTC(2030, 2, 30, 12));
    await start(clock);
    const created = await create({ cron: "30 2 * * *", timeZone: "Europe/Berlin" });
    const next = created.status!.nextFireTimes.map((t) => t.toISOString());
    expect(next[0]!.startsWith("2030-03-31T")).toBe(true);
    expect(next.slice(1, 3)).toEqual(["2030-04-01T00:30:00.000Z", "2030-04-02T00:30:00.000Z"]);
    await tickTo(clock, Date.parse(next[0]!), 1, "job", true);
    const tasks = await tickTo(clock, Date.parse(next[1]!), 2, "job", true);
    expect(tasks.map((t) => t.spec!.scheduledBy!.nominalTime!.toISOString())).toEqual(next.slice(0, 2));
  });

  it("a daily 02:30 in Europe/Berlin fires once on the fall-back day", async () => {
    // 2030-10-27: at 03:00 CEST the clocks go back to 02:00 CET, so 02:30 happens twice; it fires the first time.
    const clock = new FakeClock(Date.UTC(2030, 9, 26, 12));
    await start(clock);
    const created = await create({ cron: "30 2 * * *", timeZone: "Europe/Berlin" });
    const next = created.status!.nextFireTimes.map((t) => t.toISOString());
    expect(next.slice(0, 2)).toEqual(["2030-10-27T00:30:00.000Z", "2030-10-28T01:30:00.000Z"]);
    await tickTo(clock, Date.parse(next[0]!), 1, "job", true);
    // Through the repeated hour (02:30 CET again at 01:30Z: no fire) to the next day's tick: two tasks, not three.
    await clock.stallToAsync(Date.parse("2030-10-27T01:30:00.000Z"));
    const tasks = await tickTo(clock, Date.parse(next[1]!), 2, "job", true);
    expect(tasks.map((t) => t.spec!.scheduledBy!.nominalTime!.toISOString())).toEqual(next.slice(0, 2));
    expect((await status()).fired).toBe(2);
  });

  it("a 6-field cron fires on seconds, in its time zone", async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    await create({ cron: "*/15 * * * * *", timeZone: "America/New_York" });
    const tasks = await tickTo(clock, T0 + 15_000, 1);
    await tickTo(clock, T0 + 30_000, 2);
    expect(nominal(tasks[0]!)).toBe(T0 + 15_000);
  });

  it("pause stops fires at once, unpause fires from the next tick without catching up, delete stops it", async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    await create({ interval: SECOND });
    await tickTo(clock, T0 + 1000, 1);
    await call(rpc(schedules!, "pauseSchedule"), { id: "job", note: "" });
    // A second schedule proves the scheduler ran past the paused ticks.
    await create({ interval: SECOND }, { id: "sentinel" });
    for (let k = 2; k <= 5; k++) await tickTo(clock, T0 + k * 1000, k - 1, "sentinel");
    expect((await fired()).length).toBe(1);
    await clock.advanceToAsync(T0 + 5500);
    await call(rpc(schedules!, "unpauseSchedule"), { id: "job", note: "" });
    const resumed = await tickTo(clock, T0 + 6000, 2);
    expect(resumed.map(nominal)).toEqual([T0 + 1000, T0 + 6000]);
    expect((await status()).missed).toBe(0);
    // A new interval takes effect at once (ticks from the creation on: 0, 10 s, 20 s, …).
    await call(rpc(schedules!, "updateSchedule"), {
      schedule: {
        id: "job",
        spec: { cron: "", timeZone: "", interval: { seconds: 10, nanos: 0 } },
        labels: {},
        note: "",
        paused: false,
        overlap: 0,
        generation: 0,
      },
      updateMask: ["spec.interval"],
    });
    for (let k = 7; k <= 9; k++) await tickTo(clock, T0 + k * 1000, k - 1, "sentinel");
    const updated = await tickTo(clock, T0 + 10_000, 3);
    expect(updated.map(nominal)).toEqual([T0 + 1000, T0 + 6000, T0 + 10_000]);
    await call(rpc(schedules!, "deleteSchedule"), { id: "job" });
    for (let k = 11; k <= 21; k++) await tickTo(clock, T0 + k * 1000, k - 1, "sentinel");
    expect((await fired()).length).toBe(3);
  });

  it("SKIP drops a tick while the last task is active; BUFFER_ONE queues one; CANCEL_OTHER replaces it", async () => {
    // No runner is connected: every fired task stays pending and holds its slot.
    const clock = new FakeClock(T0);
    await start(clock);
    await create({ interval: SECOND }, { id: "skip", overlap: OverlapPolicy.OVERLAP_POLICY_SKIP });
    await create({ interval: SECOND }, { id: "buffer", overlap: OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE });
    await create({ interval: SECOND }, { id: "cancel", overlap: OverlapPolicy.OVERLAP_POLICY_CANCEL_OTHER });
    for (let k = 1; k <= 3; k++) {
      await clock.advanceToAsync(T0 + k * 1000);
      await waitUntil(async () => {
        await clock.advanceAsync(0); // fires what a pass that ended after the clock got here armed for now
        const all = await Promise.all(["skip", "buffer", "cancel"].map((id) => status(id)));
        return all.every((s) => s.fired + s.skipped === k);
      }, `tick ${k} handled by all three`);
    }
    expect(await status("skip")).toMatchObject({ fired: 1, skipped: 2 });
    expect(await status("buffer")).toMatchObject({ fired: 2, skipped: 1 });
    expect(await status("cancel")).toMatchObject({ fired: 3, skipped: 0 });
    const buffered = await fired("buffer");
    expect(buffered.map((t) => t.status!.reason)).toEqual([TaskReason.NO_MATCHING_RUNNER, TaskReason.SLOT_QUEUED]);
    const replaced = await fired("cancel");
    expect(replaced.map((t) => t.status!.phase)).toEqual([
      TaskPhase.TASK_PHASE_CANCELED,
      TaskPhase.TASK_PHASE_CANCELED,
      TaskPhase.TASK_PHASE_PENDING,
    ]);
    expect(replaced[0]!.status!.reason).toBe(TaskReason.REPLACED);
  });

  it("jitter delays each task's start by the same amount every time its tick is fired", async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    await create({ interval: { seconds: 60, nanos: 0 }, jitter: { seconds: 30, nanos: 0 } });
    const tasks = await tickTo(clock, T0 + 120_000, 2);
    for (const task of tasks) {
      const delay = task.spec!.notBefore!.getTime() - nominal(task);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(30_000);
    }
  });

  it("a trigger repeated with its request id seconds later is the same fire (not REQUEST_ID_REUSED)", async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    await create(undefined, { id: "deploy", task: subprocessSpec("deploy", ["--env", "staging"]) });
    const trigger = (args: string[]) =>
      call(rpc(schedules!, "triggerSchedule"), {
        id: "deploy",
        requestId: "deploy-7",
        overrides: { args, replaceArgs: true, env: {}, labels: {} },
      }).then((r) => r.task!);
    const first = await trigger(["--env", "prod"]);
    // A retry after the first answer was lost: its fire time (and nominal-time label) is another second.
    await clock.advanceAsync(2_500);
    const again = await trigger(["--env", "prod"]);
    expect(again.id).toBe(first.id);
    expect((await status("deploy")).fired).toBe(1);
    // The same id with other overrides is still a reuse.
    await expectError(trigger(["--env", "test"]), grpcStatus.ALREADY_EXISTS, ErrorReason.REQUEST_ID_REUSED);
  });
});
