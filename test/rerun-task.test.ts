import { status } from "@grpc/grpc-js";
import { ErrorReason, SupervisorClient, subprocess, TaskPhase, Trigger } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let client: SupervisorClient;
let runner: RunnerProcess;
beforeAll(async () => {
  server = await startTestServer();
  client = new SupervisorClient({ address: server.address });
  runner = await startRunner(server.address, "rerun-runner", { labels: { pool: "rerun" } });
});
afterAll(async () => {
  await runner?.stop("SIGKILL");
  client?.close();
  await server?.close();
});

/** Stays PENDING: no runner matches it. */
const waiting = (slot = "") => client.submit(subprocess("true", [], { slot, runnerSelector: "pool=nobody" }));

describe("RerunTask", () => {
  it("a finished task is run again as a new task with its spec, linked by rerun_of", async () => {
    const spec = subprocess("sh", ["-c", "echo again"], {
      labels: { rerun: "finished" },
      runnerSelector: "pool=rerun",
      trigger: Trigger.TRIGGER_CLI,
    });
    const original = await waitForTask(server.tasks, (await client.submit(spec)).id);
    expect(original.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);

    const rerun = await client.rerun(original.id);

    expect(rerun.id).not.toBe(original.id);
    expect(rerun.rerunOf).toBe(original.id);
    expect(rerun.spec).toEqual(original.spec); // as stored: defaults filled in, trigger kept
    expect(original.rerunOf).toBe("");
    const done = await waitForTask(server.tasks, rerun.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1 });
    expect(done.rerunOf).toBe(original.id);
  });

  it("a canceled task can be rerun too", async () => {
    const original = await waiting();
    await client.cancel(original.id);
    const rerun = await client.rerun(original.id);
    expect(rerun).toMatchObject({ rerunOf: original.id, status: { phase: TaskPhase.TASK_PHASE_PENDING } });
  });

  it("the same request_id answers with the same rerun; for another task it is REQUEST_ID_REUSED", async () => {
    const [first, second] = [await waiting(), await waiting()];
    await client.cancel(first!.id);
    await client.cancel(second!.id);
    const once = await client.rerun(first!.id, { requestId: "rerun-key-1" });
    const again = await client.rerun(first!.id, { requestId: "rerun-key-1" });
    expect(again.id).toBe(once.id);
    expect(again.revision).toBe(once.revision);
    // Same spec, other original: one key cannot stand for two reruns.
    await expectError(
      client.rerun(second!.id, { requestId: "rerun-key-1" }),
      status.ALREADY_EXISTS,
      ErrorReason.REQUEST_ID_REUSED,
    );
  });

  it("an active task is FAILED_PRECONDITION / TASK_ACTIVE", async () => {
    const active = await waiting();
    const error = await expectError(client.rerun(active.id), status.FAILED_PRECONDITION, ErrorReason.TASK_ACTIVE);
    expect(error.metadata).toMatchObject({ task_id: active.id, phase: "TASK_PHASE_PENDING" });
  });

  it("the rerun is admitted like a submit: its slot's active owner makes it SLOT_BUSY", async () => {
    const original = await waiting("rerun-slot");
    await client.cancel(original.id);
    await waiting("rerun-slot"); // the slot's new owner (DROP_IF_RUNNING)
    await expectError(client.rerun(original.id), status.FAILED_PRECONDITION, ErrorReason.SLOT_BUSY);
  });

  it.each([
    ["an unknown id", { id: "0190c5e2-7b1d-7c3a-8f00-0123456789ab" }, status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND],
    ["no id", { id: "" }, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST],
    ["an id that is not one", { id: "nope" }, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST],
    [
      "a bad request_id",
      { id: "0190c5e2-7b1d-7c3a-8f00-0123456789ab", requestId: "no spaces" },
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    ],
  ])("%s: %s", async (_name, request, code, reason) => {
    await expectError(call(rpc(server.tasks, "rerunTask"), { requestId: "", ...request }), code, reason);
  });

  // Last: the restart moves the server to a new port.
  it("rerun_of is stored: it is there after a restart", async () => {
    const original = await waiting();
    await client.cancel(original.id);
    const rerun = await client.rerun(original.id);
    await server.restart();
    const { task: stored } = await call(rpc(server.tasks, "getTask"), { id: rerun.id });
    expect(stored!.rerunOf).toBe(original.id);
  });
});
