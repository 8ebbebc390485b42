import { subprocess, type Task, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { type ClusterServer, startCluster } from "./helpers/cluster.js";
import { startRunner } from "./helpers/runners.js";
import { waitUntil } from "./helpers/wait.js";

// Several servers share one database only on PostgreSQL.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

const TASKS = 240;
const LIMIT = 5;

/**
 * The most runs of `tasks` that were ever assigned or running at once, from the store: every run's span from
 * its assign to its end, counted exactly (an end and an assign at the same millisecond do not overlap).
 */
async function mostAtOnce(server: ClusterServer, tasks: readonly Task[]): Promise<number> {
  const events: [number, number][] = [];
  for (const task of tasks) {
    for (const run of await server.client.listRuns(task.id)) {
      events.push([run.assignTime!.getTime(), 1], [run.finishTime!.getTime(), -1]);
    }
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of events) most = Math.max(most, (now += delta));
  return most;
}

describeCluster("concurrency keys with several servers", () => {
  it(`${TASKS} tasks submitted to 3 servers, runners on all three, the leader SIGKILLed midway: never more than ${LIMIT} hold the key`, {
    timeout: 300_000,
  }, async () => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    // Each runner names every server, its own first: the leader's moves on when it is killed.
    for (let i = 0; i < 3; i++) {
      const runner = await startRunner(cluster.target(i), `keys-cluster-${i}`, { capacity: 4 });
      onTestFinished(() => runner.stop("SIGKILL").then(() => undefined));
    }
    const spec = () => subprocess("sleep", ["0.02"], { concurrency: [{ key: "shared", maxRunning: LIMIT }] });
    const submitted: Task[] = [];
    for (let i = 0; i < TASKS / 40; i++) {
      submitted.push(...(await cluster.servers[i % 3]!.client.submitBatch(Array.from({ length: 40 }, spec))));
    }
    const rest = cluster.servers.filter((server) => server !== leader);
    const ended = async (server: ClusterServer) => {
      let done = 0;
      for await (const _ of server.client.list({ filter: { phases: [TaskPhase.TASK_PHASE_SUCCEEDED] } })) done++;
      return done;
    };
    await waitUntil(async () => (await ended(leader)) >= TASKS / 4, "a quarter of the tasks to succeed", 120_000);
    await leader.kill("SIGKILL");
    await cluster.leader(rest);
    await waitUntil(async () => (await ended(rest[0]!)) === TASKS, "every task to succeed", 240_000);
    const most = await mostAtOnce(rest[0]!, submitted);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(LIMIT);
  });
});
