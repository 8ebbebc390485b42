import { status } from "@grpc/grpc-js";
import { ErrorReason, Runner, RunnerState, TaskPhase } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer;
beforeAll(async () => {
  // A short lease, so a stopped runner turns DISCONNECTED quickly.
  server = await startTestServer({ heartbeatInterval: "100ms", leaseTtl: "400ms" });
});
afterAll(() => server.close());

const UNKNOWN_ID = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";

const startRunner = async (name: string, labels: Record<string, string> = {}) => {
  const runner = new Runner({ address: server.address, name, labels, capacity: 1, log: () => {} });
  return { runner, id: await runner.start() };
};

const runnerState = async (id: string) => {
  const { runners } = await call(rpc(server.runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "" });
  return runners.find((r) => r.id === id)?.state;
};

describe("UndrainRunner", () => {
  it("lifts a drain: the runner takes the work that waited for it", async () => {
    const { runner, id } = await startRunner("undrain-me", { pool: "undrain" });
    try {
      const drained = await call(rpc(server.runners, "drainRunner"), { runnerId: id });
      expect(drained.runner!.state).toBe(RunnerState.RUNNER_STATE_DRAINING);
      const selector = { matchLabels: { pool: "undrain" }, matchExpressions: [] };
      const { task } = await call(
        rpc(server.tasks, "submitTask"),
        submitRequest(subprocessSpec("true", [], { runnerSelector: selector })),
      );
      await waitForTask(server.tasks, task!.id, (t) => t.status!.reason === "NO_MATCHING_RUNNER");
      const undrained = await call(rpc(server.runners, "undrainRunner"), { runnerId: id });
      expect(undrained.runner!.state).toBe(RunnerState.RUNNER_STATE_CONNECTED);
      expect(await runnerState(id)).toBe(RunnerState.RUNNER_STATE_CONNECTED);
      const done = await waitForTask(server.tasks, task!.id);
      expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, runnerId: id });
      // Undraining a runner that is not draining changes nothing.
      const again = await call(rpc(server.runners, "undrainRunner"), { runnerId: id });
      expect(again.runner!.state).toBe(RunnerState.RUNNER_STATE_CONNECTED);
    } finally {
      await runner.stop();
    }
  });

  it("unknown id: NOT_FOUND / RUNNER_NOT_FOUND; not a UUID: INVALID_ARGUMENT / INVALID_REQUEST", async () => {
    await expectError(
      call(rpc(server.runners, "undrainRunner"), { runnerId: UNKNOWN_ID }),
      status.NOT_FOUND,
      ErrorReason.RUNNER_NOT_FOUND,
    );
    const bad = await expectError(
      call(rpc(server.runners, "undrainRunner"), { runnerId: "runner-1" }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(bad.fieldViolations.map((v) => v.field)).toEqual(["runner_id"]);
  });
});

describe("DeleteRunner", () => {
  it("refuses a connected runner (FAILED_PRECONDITION / RUNNER_CONNECTED), forgets a disconnected one", async () => {
    const { runner, id } = await startRunner("forget-me");
    const refused = await expectError(
      call(rpc(server.runners, "deleteRunner"), { runnerId: id }),
      status.FAILED_PRECONDITION,
      ErrorReason.RUNNER_CONNECTED,
    );
    expect(refused.metadata).toMatchObject({ runner_id: id, runner_name: "forget-me" });
    await runner.stop();
    await waitUntil(
      async () => (await runnerState(id)) === RunnerState.RUNNER_STATE_DISCONNECTED,
      "the runner to be DISCONNECTED",
    );
    const deleted = await call(rpc(server.runners, "deleteRunner"), { runnerId: id });
    expect(deleted.runner).toMatchObject({ id, name: "forget-me", state: RunnerState.RUNNER_STATE_DISCONNECTED });
    expect(await runnerState(id)).toBeUndefined();
    await expectError(
      call(rpc(server.runners, "deleteRunner"), { runnerId: id }),
      status.NOT_FOUND,
      ErrorReason.RUNNER_NOT_FOUND,
    );
  });

  it("not a UUID: INVALID_ARGUMENT at runner_id", async () => {
    const bad = await expectError(
      call(rpc(server.runners, "deleteRunner"), { runnerId: "" }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(bad.fieldViolations).toEqual([{ field: "runner_id", description: "required" }]);
  });
});
