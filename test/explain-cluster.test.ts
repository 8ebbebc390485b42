import { subprocess, type Task, TaskReason } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { type ClusterServer, startCluster } from "./helpers/cluster.js";
import { startRunner } from "./helpers/runners.js";
import { waitUntil } from "./helpers/wait.js";

// Several servers share one database only on PostgreSQL.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

describeCluster("ExplainTask with several servers", { timeout: 120_000 }, () => {
  it("a server that does not lead explains from the store: other servers' runners, their runs, keys, pauses", async () => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    const [holding, asked] = cluster.servers.filter((server) => server !== leader) as [ClusterServer, ClusterServer];
    // Runners on the leader and on the other follower; the follower asked holds none of them.
    const started = [
      await startRunner(holding.address, "cl-t4", { labels: { explain: "fit", gpu: "t4" } }),
      await startRunner(leader.address, "cl-busy", { labels: { explain: "busy" }, capacity: 1 }),
      await startRunner(holding.address, "cl-pool", { labels: { explain: "pool" }, capacity: 4 }),
    ];
    onTestFinished(() => Promise.all(started.map((runner) => runner.stop("SIGKILL"))).then(() => undefined));
    const client = leader.client;
    const submit = async (spec: ReturnType<typeof subprocess>) => {
      const task = await client.submit(spec);
      onTestFinished(() => client.cancel(task.id).then(() => undefined));
      return task;
    };
    const runningNow = async (task: Task) =>
      waitUntil(async () => (await asked.client.get(task.id)).status!.reason === TaskReason.STARTED, "a start");

    const noMatch = await submit(subprocess("true", [], { runnerSelector: "explain=fit,gpu=a100" }));
    const busyHolder = await submit(subprocess("sleep", ["60"], { runnerSelector: "explain=busy" }));
    const concurrency = [{ key: "cl-key", maxRunning: 1 }];
    const keyHolder = await submit(subprocess("sleep", ["60"], { concurrency, runnerSelector: "explain=pool" }));
    await runningNow(busyHolder);
    await runningNow(keyHolder);
    const busy = await submit(subprocess("true", [], { runnerSelector: "explain=busy" }));
    const limited = await submit(subprocess("true", [], { concurrency, runnerSelector: "explain=pool" }));
    await holding.client.dispatch.pause({ id: "cl-pause", labelSelector: "held=yes", note: "from a follower" });
    onTestFinished(() => holding.client.dispatch.resume("cl-pause").then(() => undefined));
    const paused = await submit(subprocess("true", [], { labels: { held: "yes" }, runnerSelector: "explain=pool" }));
    expect(asked.leads()).toBe(false);

    const noMatchExplained = await asked.client.explain(noMatch.id);
    expect(noMatchExplained.blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.NO_MATCHING_RUNNER,
        message: "no connected runner matches; the closest, cl-t4, fails gpu=a100 (it has gpu=t4)",
      }),
    ]);
    expect(noMatchExplained.runners.map((fit) => [fit.name, fit.failedRequirement])).toEqual([
      ["cl-t4", "gpu=a100"],
      ["cl-busy", "explain=fit"],
      ["cl-pool", "explain=fit"],
    ]);
    const counts = Object.fromEntries(noMatchExplained.runners.map((fit) => [fit.name, fit.running]));
    expect(counts).toEqual({ "cl-t4": 0, "cl-busy": 1, "cl-pool": 1 });

    expect((await asked.client.explain(busy.id)).blockers).toEqual([
      expect.objectContaining({ reason: TaskReason.RUNNERS_BUSY, count: 1, limit: 1 }),
    ]);
    expect((await asked.client.explain(limited.id)).blockers).toEqual([
      expect.objectContaining({ reason: TaskReason.CONCURRENCY_LIMITED, key: "cl-key", count: 1, limit: 1 }),
    ]);
    expect((await asked.client.explain(paused.id)).blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.DISPATCH_PAUSED,
        pauseId: "cl-pause",
        message: "dispatch paused by cl-pause (labels held=yes): from a follower",
      }),
    ]);
    // The leader, from memory, says the same.
    expect((await leader.client.explain(limited.id)).blockers).toEqual(
      (await asked.client.explain(limited.id)).blockers,
    );
  });
});
