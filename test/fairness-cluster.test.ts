import { subprocess, type Task, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { type ClusterServer, startCluster } from "./helpers/cluster.js";
import { startRunner } from "./helpers/runners.js";
import { waitUntil } from "./helpers/wait.js";

// Several servers share one database only on PostgreSQL.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

const tenantTasks = (tenant: string, count: number) =>
  Array.from({ length: count }, () =>
    subprocess("true", [], { labels: { tenant }, fairness: { key: "tenant-{labels.tenant}", weight: 0 } }),
  );

async function submitAll(server: ClusterServer, specs: ReturnType<typeof tenantTasks>): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let start = 0; start < specs.length; start += 200) {
    tasks.push(...(await server.client.submitBatch(specs.slice(start, start + 200))));
  }
  return tasks;
}

describeCluster("fairness with several servers", () => {
  it("tasks submitted to a follower take turns on the leader: B's 10 go within ~20 dispatches, not after A's 400", {
    timeout: 240_000,
  }, async () => {
    const cluster = await startCluster(2);
    const leader = await cluster.leader();
    const follower = cluster.servers.find((server) => server !== leader)!;
    // No runner yet: A's backlog is all waiting when B's tasks come, through the other server.
    const a = await submitAll(follower, tenantTasks("a", 400));
    const b = await submitAll(leader, tenantTasks("b", 10));
    const runner = await startRunner(follower.address, "fair-cluster", { capacity: 2 });
    onTestFinished(() => runner.stop().then(() => undefined));
    const all = [...a, ...b];
    await waitUntil(
      async () => {
        let done = 0;
        for await (const _ of leader.client.list({ filter: { phases: [TaskPhase.TASK_PHASE_SUCCEEDED] } })) done++;
        return done === all.length;
      },
      "every task to succeed",
      180_000,
    );
    // Run ids are UUIDv7s the leader made as it assigned them: they sort in dispatch order.
    const runs: { runId: string; tenant: string }[] = [];
    for (const task of all) {
      for (const run of await leader.client.listRuns(task.id))
        runs.push({ runId: run.id, tenant: task.spec!.labels.tenant! });
    }
    runs.sort((x, y) => (x.runId < y.runId ? -1 : 1));
    const lastOfB = runs.map((run) => run.tenant).lastIndexOf("b");
    expect(runs).toHaveLength(410);
    expect(lastOfB).toBeLessThan(22);
  });
});
