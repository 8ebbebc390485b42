import { embedded, RetryAfter, Runner, subprocess, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { type ClusterServer, startCluster } from "./helpers/cluster.js";
import { startRunner } from "./helpers/runners.js";
import { waitUntil } from "./helpers/wait.js";

// Several servers share one database only on PostgreSQL.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

/** Polls the task through `server` until `until` holds (bounded). */
const statusOn = (server: ClusterServer, task: Task, until: (task: Task) => boolean, what: string) =>
  waitUntil(async () => {
    const now = await server.client.get(task.id);
    return until(now) ? now : undefined;
  }, `task ${task.id}: ${what}`);

const reasonIs = (reason: string) => (task: Task) => task.status!.reason === reason;
const phaseIs = (phase: TaskPhase) => (task: Task) => task.status!.phase === phase;

describeCluster("rate limits with several servers", { timeout: 120_000 }, () => {
  it("a change of leader keeps the bucket: the new leader starts from the tokens the last one took", async () => {
    const cluster = await startCluster(2);
    const leader = await cluster.leader();
    const follower = cluster.servers.find((server) => server !== leader)!;
    const runner = await startRunner(follower.address, "cluster-rates", { capacity: 4 });
    onTestFinished(() => runner.stop().then(() => undefined));
    // One token a minute: the first task takes it, the next one's is a minute later.
    const spec = subprocess("true", [], { rateLimits: [{ key: "slow", perMinute: 1 }] });
    const first = await leader.client.submit(spec);
    await statusOn(leader, first, phaseIs(TaskPhase.TASK_PHASE_SUCCEEDED), "the first task to run");
    const assignedMs = (await leader.client.listRuns(first.id))[0]!.assignTime!.getTime();
    // Written with the assign: the key's bucket is full again a minute after it.
    expect(await cluster.sql("SELECT key, tat_ms FROM rate_keys")).toEqual([
      { key: "slow", tat_ms: assignedMs + 60_000 },
    ]);

    await leader.kill();
    const next = await cluster.leader([follower]);
    const second = await next.client.submit(spec);
    const waiting = await statusOn(next, second, reasonIs(TaskReason.RATE_LIMITED), "the second task to wait");
    expect(waiting.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect(waiting.status!.message).toBe(
      `rate limit slow (1/min, burst 1) has no token: the next is due at ${new Date(assignedMs + 60_000).toISOString()}`,
    );
  });

  it("a retry-after reported to a follower pauses the key on the leader, for tasks submitted anywhere", async () => {
    const cluster = await startCluster(2);
    const leader = await cluster.leader();
    const follower = cluster.servers.find((server) => server !== leader)!;
    const runner = new Runner({ address: follower.address, name: "cluster-pusher", kinds: ["embedded:vendor"] });
    runner.handle("vendor", (payload) => {
      if (payload.push) throw new RetryAfter(60_000, { message: "429 from the vendor" });
    });
    await runner.start();
    onTestFinished(() => runner.stop());
    const onVendor = (payload: Record<string, unknown>, key = "vendor-q") =>
      embedded("vendor", payload, { concurrency: [{ key, maxRunning: 10 }] });

    const asker = await leader.client.submit(onVendor({ push: true }));
    await statusOn(leader, asker, reasonIs(TaskReason.RETRY_AFTER), "the asker to be deferred");
    const [run] = await leader.client.listRuns(asker.id);
    // The run's end (and the pause) was written by the follower, which holds the runner.
    const [row] = await cluster.sql("SELECT key, paused_by FROM rate_keys");
    expect(row).toEqual({ key: "vendor-q", paused_by: run!.id });

    const held = await follower.client.submit(onVendor({}));
    const other = await follower.client.submit(onVendor({}, "other-q"));
    await statusOn(leader, other, phaseIs(TaskPhase.TASK_PHASE_SUCCEEDED), "the other key's task to run");
    const waiting = await statusOn(leader, held, reasonIs(TaskReason.RATE_LIMITED), "the same key's task to wait");
    expect(waiting.status!.message).toMatch(
      new RegExp(`^key vendor-q is paused until \\S+ by a retry-after of run ${run!.id}$`),
    );
  });
});
