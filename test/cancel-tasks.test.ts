import { status } from "@grpc/grpc-js";
import {
  AdmissionPolicy,
  ErrorReason,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { expectError } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let client: SupervisorClient;
let runner: RunnerProcess;
beforeAll(async () => {
  server = await startTestServer({ cancelGracePeriod: "1s" });
  client = new SupervisorClient({ address: server.address });
  runner = await startRunner(server.address, "bulk-runner", { labels: { pool: "bulk" }, capacity: 2 });
});
afterAll(async () => {
  await runner?.stop("SIGKILL");
  client?.close();
  await server?.close();
});

/** Runs on the test's runner. */
const runs = (command: string, args: string[], labels: Record<string, string>) =>
  client.submit(subprocess(command, args, { labels, runnerSelector: "pool=bulk" }));
/** Stays PENDING: no runner matches it. */
const waits = (labels: Record<string, string>, more: Parameters<typeof subprocess>[2] = {}) =>
  client.submit(subprocess("true", [], { labels, runnerSelector: "pool=nobody", ...more }));
const phaseOf = async (task: Task) => (await client.get(task.id)).status!.phase;

describe("CancelTasks", () => {
  it("cancels the pending, asks the running to stop (they end CANCELED), leaves ended and unmatched alone", async () => {
    const group = { bulk: "mixed" };
    const ended = await runs("true", [], group);
    expect((await waitForTask(server.tasks, ended.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const running = [await runs("sleep", ["60"], group), await runs("sleep", ["60"], group)];
    for (const task of running)
      await waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.STARTED);
    const pending = [await waits(group), await waits(group), await waits(group)];
    const outside = await waits({ bulk: "other" });

    const answer = await client.cancelTasks({ labelSelector: "bulk=mixed" }, { reason: "bulk stop" });

    expect(answer).toMatchObject({ matched: 5, canceled: 5 });
    expect(new Set(answer.taskIds)).toEqual(new Set([...running, ...pending].map((task) => task.id)));
    for (const task of pending) {
      expect((await client.get(task.id)).status).toMatchObject({
        phase: TaskPhase.TASK_PHASE_CANCELED,
        reason: TaskReason.CANCELED_BY_CLIENT,
        message: "bulk stop",
      });
    }
    for (const task of running) {
      // The cancel is recorded at once; the runner stops the process and the task ends CANCELED.
      expect((await client.get(task.id)).status).toMatchObject({ cancelRequested: true });
      expect((await waitForTask(server.tasks, task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    }
    expect(await phaseOf(ended)).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(await phaseOf(outside)).toBe(TaskPhase.TASK_PHASE_PENDING);

    // Idempotent: nothing active is left to match.
    expect(await client.cancelTasks({ labelSelector: "bulk=mixed" })).toEqual({ matched: 0, canceled: 0, taskIds: [] });
  });

  it("dry_run counts and lists the matching active tasks and changes nothing", async () => {
    const tasks = [await waits({ bulk: "dry" }), await waits({ bulk: "dry" })];
    const before = await Promise.all(tasks.map((task) => client.get(task.id)));

    const answer = await client.cancelTasks({ labelSelector: "bulk=dry" }, { dryRun: true });

    expect(answer.matched).toBe(2);
    expect(answer.canceled).toBe(0);
    expect([...answer.taskIds].sort()).toEqual(tasks.map((task) => task.id).sort());
    const after = await Promise.all(tasks.map((task) => client.get(task.id)));
    expect(after).toEqual(before); // same phase, same revision: nothing was written
  });

  it("phases narrow within the active tasks; ended phases match nothing", async () => {
    const [first, second] = [await waits({ bulk: "phases" }), await waits({ bulk: "phases" })];
    await client.cancel(first!.id);
    const endedOnly = await client.cancelTasks({
      labelSelector: "bulk=phases",
      phases: [TaskPhase.TASK_PHASE_CANCELED, TaskPhase.TASK_PHASE_SUCCEEDED],
    });
    expect(endedOnly).toEqual({ matched: 0, canceled: 0, taskIds: [] });
    const pendingOnly = await client.cancelTasks({
      labelSelector: "bulk=phases",
      phases: [TaskPhase.TASK_PHASE_PENDING],
    });
    expect(pendingOnly).toEqual({ matched: 1, canceled: 1, taskIds: [second!.id] });
  });

  it("a slot's owner and its queue are all canceled, the queued ones after their promotion", async () => {
    const queue = { slot: "bulk-slot", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE };
    const tasks = [await waits({}, queue), await waits({}, queue), await waits({}, queue)];
    expect((await client.get(tasks[1]!.id)).status!.reason).toBe(TaskReason.SLOT_QUEUED);

    expect(await client.cancelTasks({ slot: "bulk-slot" })).toMatchObject({ matched: 3, canceled: 3 });
    for (const task of tasks) expect(await phaseOf(task)).toBe(TaskPhase.TASK_PHASE_CANCELED);
    // The slot is free: a new task owns it at once.
    const next = await waits({}, { slot: "bulk-slot" });
    expect((await client.get(next.id)).status!.reason).not.toBe(TaskReason.SLOT_QUEUED);
  });

  it("walks page after page: 1 500 tasks are all canceled, the answer lists the first 1 000", async () => {
    const spec = subprocess("true", [], { labels: { bulk: "many" }, runnerSelector: "pool=nobody" });
    for (let i = 0; i < 3; i++) await client.submitBatch(Array.from({ length: 500 }, () => spec));

    const answer = await client.cancelTasks({ labelSelector: "bulk=many" });

    expect(answer.matched).toBe(1500);
    expect(answer.canceled).toBe(1500);
    expect(answer.taskIds).toHaveLength(1000);
    expect(new Set(answer.taskIds).size).toBe(1000);
    const left = await client.cancelTasks({ labelSelector: "bulk=many" }, { dryRun: true });
    expect(left.matched).toBe(0);
  });

  it("an empty filter is refused without all; with all, every active task is canceled", async () => {
    await expectError(client.cancelTasks({}), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    // Phases alone narrow nothing that matters: every pending task is as broad as all of them.
    await expectError(
      client.cancelTasks({ phases: [TaskPhase.TASK_PHASE_PENDING] }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    // A server of its own: `all` reaches every task of the server.
    const own = await startTestServer();
    onTestFinished(() => own.close());
    const ownClient = new SupervisorClient({ address: own.address });
    onTestFinished(() => ownClient.close());
    const spec = subprocess("true", [], { runnerSelector: "pool=nobody" });
    const tasks = [await ownClient.submit(spec), await ownClient.submit(spec)];
    expect(await ownClient.cancelTasks({}, { all: true })).toMatchObject({ matched: 2, canceled: 2 });
    for (const task of tasks) expect((await ownClient.get(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
  });

  it.each([
    ["a label selector that does not parse", { labelSelector: "a in (" }, {}, ErrorReason.LABEL_SELECTOR_INVALID],
    ["an unknown phase", { labelSelector: "bulk=x", phases: [99] }, {}, ErrorReason.INVALID_REQUEST],
    ["a parent_id that is no task id", { parentId: "not-a-task" }, {}, "INVALID_REQUEST"],
    ["a reason over 1024 characters", { labelSelector: "bulk=x" }, { reason: "x".repeat(1025) }, "INVALID_REQUEST"],
  ])("%s: INVALID_ARGUMENT", async (_name, filter, options, reason) => {
    const error = await expectError(client.cancelTasks(filter, options), status.INVALID_ARGUMENT, reason);
    expect(error.fieldViolations.length).toBe(1);
  });
});
