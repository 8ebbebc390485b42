import { rmSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { RunnerServiceClient, RunnerState, RunPhase, TaskPhase, TaskReason, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

describe("a stalled supervisor", () => {
  it("woken after a pause longer than the lease keeps its healthy runners and their runs", async () => {
    const dir = tempDir();
    const db = await storeForTest(dir, "stall.db");
    const serve = await startCli(
      ["serve", "--listen", "127.0.0.1:0", "--db", db, "--heartbeat-interval", "200ms", "--lease-ttl", "1s"],
      /serving on (\S+)/,
    );
    const address = serve.match[1]!;
    let runner: RunnerProcess | undefined;
    const tasks = new TaskServiceClient(address, credentials.createInsecure());
    const runners = new RunnerServiceClient(address, credentials.createInsecure());
    try {
      runner = await startRunner(address, "steady");
      const { task } = await call(rpc(tasks, "submitTask"), submitRequest(subprocessSpec("sleep", ["3"])));
      await waitForTask(tasks, task!.id, (t) => t.status!.reason === TaskReason.STARTED);
      // The scenario itself is a pause: three lease TTLs with the process stopped (no event to wait on).
      serve.child.kill("SIGSTOP");
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // scenario pause: the stall
      serve.child.kill("SIGCONT");
      const done = await waitForTask(tasks, task!.id);
      expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1 });
      const { runs } = await call(rpc(tasks, "listTaskRuns"), { taskId: task!.id, pageSize: 0, pageToken: "" });
      expect(runs.map((r) => r.phase)).toEqual([RunPhase.RUN_PHASE_SUCCEEDED]);
      const [listed] = (await call(rpc(runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "" }))
        .runners;
      expect(listed).toMatchObject({ name: "steady", state: RunnerState.RUNNER_STATE_CONNECTED });
    } finally {
      tasks.close();
      runners.close();
      serve.child.kill("SIGCONT");
      await runner?.stop("SIGKILL");
      await stopChild(serve.child, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
