import { subprocess, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { startCluster } from "./helpers/cluster.js";
import { startRunner } from "./helpers/runners.js";
import { waitUntil } from "./helpers/wait.js";

// Several servers share one database only on PostgreSQL.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

describeCluster("dispatch pauses with several servers", { timeout: 120_000 }, () => {
  it("a pause made on a follower stops the leader's dispatch; a resume there releases it", async () => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    const [follower, other] = cluster.servers.filter((server) => server !== leader);
    const runner = await startRunner(other!.address, "cluster-pauses", { capacity: 4 });
    onTestFinished(() => runner.stop().then(() => undefined));
    await follower!.client.dispatch.pause({ id: "from-follower", labelSelector: "held=yes" });
    // Submitted to the leader, run by a runner on the third server: only the leader's dispatch decides.
    const held = await leader.client.submit(subprocess("true", [], { labels: { held: "yes" } }));
    const free = await leader.client.submit(subprocess("true", [], { labels: { held: "no" } }));
    const state = async (task: Task) => (await other!.client.get(task.id)).status!;
    await waitUntil(async () => (await state(free)).phase === TaskPhase.TASK_PHASE_SUCCEEDED, "the free task to end");
    const waiting = await waitUntil(async () => {
      const status = await state(held);
      return status.reason === TaskReason.DISPATCH_PAUSED ? status : undefined;
    }, "the held task to say DISPATCH_PAUSED");
    expect(waiting.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect(waiting.message).toContain("from-follower");
    expect((await other!.client.dispatch.list()).map((pause) => pause.id)).toEqual(["from-follower"]);
    await follower!.client.dispatch.resume("from-follower");
    await waitUntil(async () => (await state(held)).phase === TaskPhase.TASK_PHASE_SUCCEEDED, "the held task to end");
  });
});
