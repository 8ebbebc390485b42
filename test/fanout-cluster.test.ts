import { Placement, TaskPhase, TERMINAL_PHASES } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { startCluster } from "./helpers/cluster.js";
import { startRunner } from "./helpers/runners.js";
import { subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

// Fan-out with several servers on one PostgreSQL: a follower that serves none of the matching runners
// submits, and reads them from the runners table; the leader dispatches each child to its runner.

describe.skipIf(BACKEND !== "postgres")("fan-out with several servers", () => {
  it("a follower's fan-out submit reaches the runners of every server; the leader runs the children", async () => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    const [followerA, followerB] = cluster.servers.filter((server) => server !== leader);
    const onLeader = await startRunner(leader!.address, "multi-a", { labels: { pool: "multi" } });
    const onFollower = await startRunner(followerA!.address, "multi-b", { labels: { pool: "multi" } });
    onTestFinished(async () => {
      await Promise.all([onLeader.stop("SIGKILL"), onFollower.stop("SIGKILL")]);
    });
    const parent = await followerB!.client.submit(
      subprocessSpec("echo", ["hi"], {
        placement: Placement.PLACEMENT_EACH_MATCHING_RUNNER,
        runnerSelector: { matchLabels: { pool: "multi" }, matchExpressions: [] },
      }),
    );
    expect(parent.status!.fanOut!.children).toBe(2);
    const terminal = new Set<TaskPhase>(TERMINAL_PHASES);
    await waitUntil(
      async () => terminal.has((await followerB!.client.get(parent.id)).status!.phase),
      "the parent to end",
      60_000,
      100,
    );
    const done = await followerB!.client.get(parent.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const kids = [];
    for await (const kid of followerB!.client.list({ filter: { parentId: parent.id } })) kids.push(kid);
    expect(kids.map((kid) => kid.status!.runnerId).sort()).toEqual([onLeader.id, onFollower.id].sort());
  });
});
