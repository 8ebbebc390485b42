import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  embedded,
  Runner,
  type RunnerInfo,
  RunnerState,
  type SupervisorClient,
  type Task,
  TaskPhase,
  TaskReason,
} from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { type ClusterServer, startCluster } from "./helpers/cluster.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { waitUntil } from "./helpers/wait.js";

// The postgres project only: several servers share one database, which only PostgreSQL offers.
const describeCluster = describe.skipIf(BACKEND !== "postgres");

const UNKNOWN_ID = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";

/** An SDK runner on `server`: its `draining` flag is set by the drain message the supervisor sends it. */
async function sdkRunner(server: ClusterServer, name: string, labels: Record<string, string>) {
  const runner = new Runner({ address: server.address, name, labels, capacity: 2, log: () => {} }).handle(
    "echo",
    async (payload) => payload,
  );
  onTestFinished(() => runner.kill());
  return { runner, id: await runner.start() };
}

const drain = (server: ClusterServer, runnerId: string) =>
  call(rpc(server.client.runners, "drainRunner"), { runnerId }).then((answer) => answer.runner!);
const undrain = (server: ClusterServer, runnerId: string) =>
  call(rpc(server.client.runners, "undrainRunner"), { runnerId }).then((answer) => answer.runner!);

/** Waits until ListRunners on every server shows the runner in `state`. */
async function listedEverywhere(servers: readonly ClusterServer[], runnerId: string, state: RunnerState) {
  await waitUntil(async () => {
    for (const { client } of servers) {
      const listed = (await client.listRunners()).find((runner: RunnerInfo) => runner.id === runnerId);
      if (listed?.state !== state) return false;
    }
    return true;
  }, `every server to list runner ${runnerId} as ${RunnerState[state]}`);
}

const ended = (client: SupervisorClient, id: string): Promise<Task> =>
  waitUntil(async () => {
    const task = await client.get(id);
    return task.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED ? task : undefined;
  }, `task ${id} to succeed`);

describeCluster("DrainRunner / UndrainRunner through any server", { timeout: 120_000 }, () => {
  it("a drain sent to a server without the runner's stream reaches it; an undrain via a third lifts it", async () => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    // The runner sits on a server that does not lead (the leader sees it through the runners table), the drain
    // goes to another server, the undrain to the third.
    const [holder, drainVia, undrainVia] = [
      ...cluster.servers.filter((server) => server !== leader),
      leader,
    ] as ClusterServer[];
    const drained = await sdkRunner(holder!, "drainee", { pool: "cross", who: "drainee" });
    const other = await sdkRunner(undrainVia!, "other", { pool: "cross", who: "other" });
    await listedEverywhere(cluster.servers, drained.id, RunnerState.RUNNER_STATE_CONNECTED);
    await listedEverywhere(cluster.servers, other.id, RunnerState.RUNNER_STATE_CONNECTED);

    const answer = await drain(drainVia!, drained.id);
    expect(answer).toMatchObject({ id: drained.id, name: "drainee", state: RunnerState.RUNNER_STATE_DRAINING });
    await waitUntil(() => drained.runner.draining, "the runner to hear the drain");
    expect(other.runner.draining).toBe(false);
    await listedEverywhere(cluster.servers, drained.id, RunnerState.RUNNER_STATE_DRAINING);

    // Only the drained runner matches this one: it waits, for runners busy (the leader counts a draining runner so).
    const probe = await cluster.servers[0]!.client.submit(
      embedded("echo", { probe: true }, { runnerSelector: "who=drainee" }),
    );
    // Work for either runner, submitted to every server, all goes to the other one.
    const work = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        cluster.servers[i % 3]!.client.submit(embedded("echo", { i }, { runnerSelector: "pool=cross" })),
      ),
    );
    const done = await Promise.all(work.map((task, i) => ended(cluster.servers[(i + 1) % 3]!.client, task.id)));
    expect(done.map((task) => task.status!.runnerId)).toEqual(done.map(() => other.id));
    await waitUntil(
      async () => (await leader.client.get(probe.id)).status!.reason === TaskReason.RUNNERS_BUSY,
      "the probe to wait for busy runners",
    );
    expect((await holder!.client.get(probe.id)).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      runnerId: "",
    });

    const lifted = await undrain(undrainVia!, drained.id);
    expect(lifted).toMatchObject({ id: drained.id, state: RunnerState.RUNNER_STATE_CONNECTED });
    const probed = await ended(drainVia!.client, probe.id);
    expect(probed.status!.runnerId).toBe(drained.id);
    await listedEverywhere(cluster.servers, drained.id, RunnerState.RUNNER_STATE_CONNECTED);
    // Undraining a runner that is not draining changes nothing, from any server.
    expect(await undrain(drainVia!, drained.id)).toMatchObject({ state: RunnerState.RUNNER_STATE_CONNECTED });
  });

  it("a drain on the server holding the runner, undone from another: both take effect", async () => {
    const cluster = await startCluster(2);
    const [holder, elsewhere] = cluster.servers as ClusterServer[];
    const drained = await sdkRunner(holder!, "local-drainee", { who: "local" });
    await listedEverywhere(cluster.servers, drained.id, RunnerState.RUNNER_STATE_CONNECTED);
    expect(await drain(holder!, drained.id)).toMatchObject({ state: RunnerState.RUNNER_STATE_DRAINING });
    expect(drained.runner.draining).toBe(true); // told before the answer, on the server holding it
    await listedEverywhere(cluster.servers, drained.id, RunnerState.RUNNER_STATE_DRAINING);
    expect(await undrain(elsewhere!, drained.id)).toMatchObject({ state: RunnerState.RUNNER_STATE_CONNECTED });
    await listedEverywhere(cluster.servers, drained.id, RunnerState.RUNNER_STATE_CONNECTED);
    const task = await elsewhere!.client.submit(embedded("echo", {}, { runnerSelector: "who=local" }));
    expect((await ended(holder!.client, task.id)).status!.runnerId).toBe(drained.id);
  });

  it("a runner connected nowhere is answered as stored; an unknown one is NOT_FOUND on every server", async () => {
    const cluster = await startCluster(2);
    const [holder, elsewhere] = cluster.servers as ClusterServer[];
    const gone = await sdkRunner(holder!, "gone", {});
    await listedEverywhere(cluster.servers, gone.id, RunnerState.RUNNER_STATE_CONNECTED);
    await gone.runner.stop();
    await listedEverywhere(cluster.servers, gone.id, RunnerState.RUNNER_STATE_DISCONNECTED);
    expect(await drain(elsewhere!, gone.id)).toMatchObject({
      id: gone.id,
      state: RunnerState.RUNNER_STATE_DISCONNECTED,
    });
    await listedEverywhere(cluster.servers, gone.id, RunnerState.RUNNER_STATE_DISCONNECTED);
    for (const server of cluster.servers) {
      for (const request of [drain, undrain]) {
        await expectError(request(server, UNKNOWN_ID), status.NOT_FOUND, ErrorReason.RUNNER_NOT_FOUND);
      }
    }
  });
});
