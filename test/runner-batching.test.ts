import { status } from "@grpc/grpc-js";
import {
  type ConnectRequest,
  type ConnectRequest_BatchItem,
  type ConnectResponse,
  type ConnectResponse_Assign,
  ErrorReason,
  MAX_BATCH_ITEMS,
  RunOutcome,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { hello, type RawRunner, rawRunner } from "./helpers/raw-runner.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const start = (settings: Record<string, string> = {}) =>
  startTestServer({ heartbeatInterval: "200ms", leaseTtl: "800ms", ...settings });

const inPool = (pool: string) => ({ runnerSelector: { matchLabels: { pool }, matchExpressions: [] } });

/** Submits the specs in one BatchSubmitTasks call: stored, and assigned to runners with room, by one commit. */
const submitAll = async (s: TestServer, specs: TaskSpec[]): Promise<Task[]> =>
  (await call(rpc(s.tasks, "batchSubmitTasks"), { requests: specs.map((spec) => submitRequest(spec)) })).tasks;

async function welcomed(s: TestServer, name: string, pool: string, options: { capacity?: number; batches: boolean }) {
  const runner = rawRunner(s.runners);
  runner.send(hello(name, { labels: { pool }, capacity: options.capacity ?? 1, acceptsBatches: options.batches }));
  const welcome = (await runner.next()).message;
  if (welcome?.$case !== "welcome") throw new Error(`expected a welcome, got ${welcome?.$case}`);
  expect(welcome.value.acceptsBatches).toBe(true);
  return runner;
}

/** Reads the supervisor's messages until `count` assigns have come; returns the messages as they arrived. */
async function assignsFrom(runner: RawRunner, count: number) {
  const messages: ConnectResponse[] = [];
  const assigns: ConnectResponse_Assign[] = [];
  while (assigns.length < count) {
    const message = await runner.next();
    messages.push(message);
    const body = message.message;
    if (body?.$case === "assign") assigns.push(body.value);
    if (body?.$case === "batch") {
      for (const item of body.value.items) if (item.message?.$case === "assign") assigns.push(item.message.value);
    }
  }
  return { messages, assigns };
}

const started = (runId: string): ConnectRequest_BatchItem => ({ message: { $case: "runStarted", value: { runId } } });
const succeeded = (runId: string): ConnectRequest_BatchItem => ({
  message: {
    $case: "runFinished",
    value: { runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" },
  },
});
const output = (runId: string, text: string | Buffer, seq = 1): ConnectRequest_BatchItem => ({
  message: { $case: "output", value: { runId, stream: 1, data: Buffer.from(text), seq, offset: 0 } },
});
const batchOf = (items: ConnectRequest_BatchItem[]): ConnectRequest["message"] => ({
  $case: "batch",
  value: { items },
});

const outputOf = async (s: TestServer, taskId: string): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const event of s.tasks.streamTaskOutput({ taskId, attempt: 0, follow: false, sinceSeq: 0 })) {
    if (event.event?.$case === "chunk") chunks.push(event.event.value.data);
  }
  return Buffer.concat(chunks).toString();
};

describe("batched Connect messages on the supervisor", () => {
  it("a runner that accepts batches gets the assigns of one commit together; one that does not gets each alone", async () => {
    server = await start();
    const s = server;
    const batching = await welcomed(s, "batching", "batched", { capacity: 5, batches: true });
    const single = await welcomed(s, "single", "alone", { capacity: 5, batches: false });
    const tasks = await submitAll(s, [
      ...Array.from({ length: 5 }, () => subprocessSpec("true", [], inPool("batched"))),
      ...Array.from({ length: 5 }, () => subprocessSpec("true", [], inPool("alone"))),
    ]);

    const batched = await assignsFrom(batching, 5);
    expect(batched.assigns.map((a) => a.taskId).sort()).toEqual(
      tasks
        .slice(0, 5)
        .map((t) => t.id)
        .sort(),
    );
    const batches = batched.messages.filter((m) => m.message?.$case === "batch");
    expect(batches.length).toBeGreaterThan(0);
    expect(batched.messages.length).toBeLessThan(5);

    const alone = await assignsFrom(single, 5);
    expect(alone.assigns.map((a) => a.taskId).sort()).toEqual(
      tasks
        .slice(5)
        .map((t) => t.id)
        .sort(),
    );
    expect(alone.messages.map((m) => m.message?.$case)).toEqual(Array(5).fill("assign"));

    // Both report back, one in a single batch, the other one message per report.
    batching.send(batchOf(batched.assigns.flatMap((a) => [started(a.runId), output(a.runId, `${a.taskId}\n`)])));
    batching.send(batchOf(batched.assigns.map((a) => succeeded(a.runId))));
    for (const a of alone.assigns) {
      for (const item of [started(a.runId), output(a.runId, `${a.taskId}\n`), succeeded(a.runId)]) {
        single.send(item.message);
      }
    }
    for (const task of tasks) {
      const done = await waitForTask(s.tasks, task.id);
      expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1 });
      expect(await outputOf(s, task.id)).toBe(`${task.id}\n`);
    }
    batching.stream.end();
    single.stream.end();
  });

  it("a batch with a valid and an oversized item ends as the same messages sent one by one would", async () => {
    server = await start();
    const s = server;
    /** Two runs: the first one ends, then output over 64 KiB about the second one, then its end. */
    const play = async (name: string, batched: boolean) => {
      const runner = await welcomed(s, name, name, { capacity: 2, batches: false });
      const tasks = await submitAll(s, [
        subprocessSpec("true", [], inPool(name)),
        subprocessSpec("true", [], inPool(name)),
      ]);
      const { assigns } = await assignsFrom(runner, 2);
      const [first, second] = tasks.map((t) => assigns.find((a) => a.taskId === t.id)!.runId);
      const items = [
        started(first!),
        succeeded(first!),
        output(second!, Buffer.alloc(64 * 1024 + 1, 0x41)),
        succeeded(second!),
      ];
      if (batched) runner.send(batchOf(items));
      else for (const item of items) runner.send(item.message);
      const error = await expectError(
        runner.ended.then((e) => Promise.reject(e)),
        status.FAILED_PRECONDITION,
        ErrorReason.RUNNER_PROTOCOL_VIOLATION,
      );
      const [one, two] = await Promise.all(tasks.map((t) => waitForTask(s.tasks, t.id)));
      return { message: error.message, first: one!.status, second: two!.status };
    };
    const alone = await play("alone", false);
    const batched = await play("batched", true);
    expect(batched.message).toBe(alone.message);
    for (const outcome of [alone, batched]) {
      expect(outcome.first).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED });
      // What came after the oversized output was never read: the run was lost with its runner.
      expect(outcome.second).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.RUNNER_LOST });
    }
  });

  it(`a batch of more than ${MAX_BATCH_ITEMS} items is INVALID_ARGUMENT at batch.items and none of it is read`, async () => {
    server = await start();
    const s = server;
    const runner = await welcomed(s, "greedy", "greedy", { batches: true });
    const [task] = await submitAll(s, [subprocessSpec("true", [], inPool("greedy"))]);
    const { assigns } = await assignsFrom(runner, 1);
    const runId = assigns[0]!.runId;
    runner.send(
      batchOf([started(runId), succeeded(runId), ...Array.from({ length: MAX_BATCH_ITEMS - 1 }, () => ({}))]),
    );
    const error = await expectError(
      runner.ended.then((e) => Promise.reject(e)),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["batch.items"]);
    const done = await waitForTask(s.tasks, task!.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.RUNNER_LOST });
  });

  it("batched reports about runs a runner does not own are ignored (fencing by run id)", async () => {
    server = await start({ leaseTtl: "5s" });
    const s = server;
    const owner = await welcomed(s, "owner", "fence", { batches: true });
    const intruder = await welcomed(s, "intruder", "elsewhere", { batches: true });
    const [task] = await submitAll(s, [subprocessSpec("true", [], inPool("fence"))]);
    const runId = (await assignsFrom(owner, 1)).assigns[0]!.runId;
    intruder.send(
      batchOf([
        started(runId),
        output(runId, "forged\n"),
        {
          message: {
            $case: "runFinished",
            value: { runId, exitCode: 1, outcome: RunOutcome.RUN_OUTCOME_FAILED, error: "forged" },
          },
        },
      ]),
    );
    // As for a single run_finished about a run it does not own: the intruder is told to forget the run.
    const ack = (await intruder.next()).message;
    expect(ack).toEqual({ $case: "ack", value: { runs: [{ runId, outputSeq: 0, finished: true }] } });
    owner.send(batchOf([started(runId), output(runId, "real\n"), succeeded(runId)]));
    const done = await waitForTask(s.tasks, task!.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(await outputOf(s, task!.id)).toBe("real\n");
    owner.stream.end();
    intruder.stream.end();
  });
});
