import { rmSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { OverlapPolicy, Schedule, ScheduleServiceClient, type Task, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { describeOn, storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { startCluster } from "./helpers/cluster.js";
import { call, rpc } from "./helpers/grpc.js";
import { scheduleTasks } from "./helpers/list-all.js";
import { faultSeed, prng } from "./helpers/prng.js";
import { tempDir } from "./helpers/server.js";
import { subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

// A schedule every second through SIGKILLs of the server (and, on PostgreSQL, of the leader of three):
// every nominal second from the first fire to the last has exactly one task, none has two. Real time,
// real processes; the kills come at seeded random moments.

const READY = /supervisor serving on (\S+)/;
const KILLS = 5;

const everySecond = (id: string) => ({
  schedule: Schedule.fromPartial({
    id,
    spec: { interval: { seconds: 1, nanos: 0 } },
    task: subprocessSpec("true", []),
    overlap: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
  }),
});

/** Waits until the schedule has fired at least 25 tasks (past the last restart: caught up), and returns them. */
const atLeast25 = (tasks: TaskServiceClient, id: string) =>
  waitUntil(
    async () => {
      const all = await scheduleTasks(tasks, id);
      return all.length >= 25 ? all : undefined;
    },
    "25 fired seconds",
    60_000,
  );

/** Each nominal second once, with no gap between the first and the last. */
function expectEverySecondOnce(tasks: Task[]): void {
  const seconds = tasks.map((t) => t.spec!.scheduledBy!.nominalTime!.getTime() / 1000).sort((a, b) => a - b);
  const doubled = seconds.filter((s, i) => i > 0 && s === seconds[i - 1]);
  expect(doubled).toEqual([]);
  const gaps = seconds.filter((s, i) => i > 0 && s !== seconds[i - 1]! + 1);
  expect(gaps).toEqual([]);
}

/** A pause of the scenario: the kill comes at a random moment within the next 2–8 s. */
const randomMoment = (random: () => number) => new Promise((resolve) => setTimeout(resolve, 2_000 + random() * 4_000)); // scenario pause: when the kill comes

describe("schedules through SIGKILL", () => {
  it("a server killed 5 times over ~30 s: every second has exactly one task", async () => {
    const random = prng(faultSeed("schedule kill"));
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = await storeForTest(dir, "schedules.db");
    const serve = async () => {
      const { child, match } = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db], READY);
      onTestFinished(() => stopChild(child, "SIGKILL").then(() => {}));
      return { child, address: match[1]! };
    };
    let server = await serve();
    const schedules = new ScheduleServiceClient(server.address, credentials.createInsecure());
    await call(rpc(schedules, "createSchedule"), everySecond("beat"));
    schedules.close();
    for (let kill = 0; kill < KILLS; kill++) {
      await randomMoment(random);
      await stopChild(server.child, "SIGKILL");
      server = await serve();
    }
    const tasks = new TaskServiceClient(server.address, credentials.createInsecure());
    onTestFinished(() => tasks.close());
    // Past the last restart: the catch-up has fired everything up to now.
    expectEverySecondOnce(await atLeast25(tasks, "beat"));
  });
});

describeOn("postgres")("schedules on three servers", () => {
  it("the leader killed 5 times: every second has exactly one task, fired by whoever leads", async () => {
    const random = prng(faultSeed("schedule leader kill"));
    const cluster = await startCluster(3);
    const first = await cluster.leader();
    const schedules = new ScheduleServiceClient(first.address, credentials.createInsecure());
    await call(rpc(schedules, "createSchedule"), everySecond("beat"));
    schedules.close();
    for (let kill = 0; kill < KILLS; kill++) {
      await randomMoment(random);
      const leader = await cluster.leader();
      await leader.kill("SIGKILL");
      await cluster.add(); // three servers again
    }
    await cluster.leader();
    const survivor = cluster.servers.find((s) => s.child.exitCode === null && s.child.signalCode === null)!;
    const tasks = new TaskServiceClient(survivor.address, credentials.createInsecure());
    onTestFinished(() => tasks.close());
    expectEverySecondOnce(await atLeast25(tasks, "beat"));
  });
});
