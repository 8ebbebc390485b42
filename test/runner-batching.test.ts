import { status } from "@grpc/grpc-js";
import {
  type ConnectRequest,
  type ConnectRequest_BatchItem,
  type ConnectResponse,
  type ConnectResponse_Assign,
  ErrorReason,
  MAX_BATCH_ITEMS,
  Runner,
  RunOutcome,
  type Task,
  TaskPhase,
  TaskReason,
  TaskSpec,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { hello, type RawRunner, rawRunner } from "./helpers/raw-runner.js";
import { type RawSupervisor, startRawSupervisor } from "./helpers/raw-supervisor.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

let server: TestServer | undefined;
let supervisor: RawSupervisor | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  supervisor?.close();
  supervisor = undefined;
});

const start = (settings: Record<string, string> = {}) =>
  startTestServer({ heartbeatInterval: "200ms", leaseTtl: "800ms", ...settings });

const inPool = (pool: string) => ({ runnerSelector: { matchLabels: { pool }, matchExpressions: [] } });

/** Submits the specs in one BatchSubmitTasks call: stored, and assigned to runners with room, by one commit. */
const submitAll = async (s: TestServer, specs: TaskSpec[]): Promise<Task[]> =>
  (
    await call(rpc(s.tasks, "batchSubmitTasks"), {
      requests: specs.map((spec) => submitRequest(spec)),
      returnPartialSuccess: false,
    })
  ).tasks;

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

describe("the SDK runner with batches", () => {
  const embeddedSpec = (handler: string, payload: Record<string, unknown>) =>
    TaskSpec.fromPartial({ exec: { $case: "embedded", value: { handler, payload } } });

  it("one runner that batches and one that does not both run many tasks to their results and output", async () => {
    server = await start({ heartbeatInterval: "1s", leaseTtl: "10s" });
    const s = server;
    const runners = [true, false].map((batching) =>
      new Runner({
        address: s.address,
        name: batching ? "sdk-batching" : "sdk-single",
        labels: { pool: batching ? "batching" : "single" },
        capacity: 16,
        batching,
        log: () => {},
      }).handle("double", (payload, ctx) => {
        ctx.log(`doubling ${payload.n}`);
        return { doubled: (payload.n as number) * 2 };
      }),
    );
    await Promise.all(runners.map((r) => r.start()));
    try {
      const count = 150;
      const specs = Array.from({ length: count }, (_, n) => ({
        ...embeddedSpec("double", { n }),
        ...inPool(n % 2 === 0 ? "batching" : "single"),
      }));
      const tasks = await submitAll(s, specs);
      for (const [n, task] of tasks.entries()) {
        const done = await waitForTask(s.tasks, task.id);
        expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1 });
        expect(done.status!.runnerId).toBe(n % 2 === 0 ? runners[0]!.runnerId : runners[1]!.runnerId);
        const [run] = (await call(rpc(s.tasks, "listTaskRuns"), { taskId: task.id, pageSize: 0, pageToken: "" })).runs;
        expect(run!.result).toEqual({ doubled: n * 2 });
        expect(await outputOf(s, task.id)).toBe(`doubling ${n}\n`);
      }
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
    }
  });

  /** What a runner sends, read by a hand-driven supervisor (the test plays it, as an older or a newer one). */
  async function reportsOf(options: { batching?: boolean; supervisorBatches: boolean; runs: number }) {
    supervisor = await startRawSupervisor();
    const raw = supervisor;
    const runner = new Runner({
      address: raw.address,
      name: "reporter",
      capacity: options.runs,
      batching: options.batching,
      log: () => {},
    }).handle("echo", (payload, ctx) => {
      ctx.log(`run ${payload.i}`);
      return { i: payload.i };
    });
    const welcomed = runner.start();
    const helloMessage = (await raw.next()).message;
    if (helloMessage?.$case !== "hello") throw new Error(`expected a hello, got ${helloMessage?.$case}`);
    raw.send({
      $case: "welcome",
      value: {
        runnerId: "0190c5e2-7b1d-7c3a-8f00-0123456789ab",
        heartbeatInterval: { seconds: 60, nanos: 0 },
        leaseTtl: { seconds: 180, nanos: 0 },
        outputCapBytes: 0,
        acceptsBatches: options.supervisorBatches,
      },
    });
    await welcomed;
    const assigns: ConnectResponse_Assign[] = Array.from({ length: options.runs }, (_, i) => ({
      runId: `run-${i}`,
      taskId: `task-${i}`,
      attempt: 1,
      spec: embeddedSpec("echo", { i }),
      deadline: new Date(Date.now() + 60_000),
      traceparent: "",
    }));
    // As the supervisor does: together to a runner that said it reads batches, one by one to any other.
    if (options.supervisorBatches && helloMessage.value.acceptsBatches) {
      raw.send({ $case: "batch", value: { items: assigns.map((value) => ({ message: { $case: "assign", value } })) } });
    } else for (const value of assigns) raw.send({ $case: "assign", value });
    const messages: ConnectRequest[] = [];
    const reports: NonNullable<ConnectRequest_BatchItem["message"]>[] = [];
    while (reports.filter((r) => r.$case === "runFinished").length < options.runs) {
      const message = await raw.next();
      messages.push(message);
      const body = message.message;
      if (body?.$case === "batch") for (const item of body.value.items) reports.push(item.message!);
      else if (body?.$case === "runStarted" || body?.$case === "output" || body?.$case === "runFinished") {
        reports.push(body);
      }
    }
    raw.send({
      $case: "ack",
      value: { runs: assigns.map(({ runId }) => ({ runId, outputSeq: 1, finished: true })) },
    });
    await runner.stop();
    return { hello: helloMessage.value, messages, reports };
  }

  /** Each run's reports, in the order they came: started, its output, then its end with the handler's result. */
  const expectEveryRunReported = (reports: NonNullable<ConnectRequest_BatchItem["message"]>[], runs: number) => {
    for (let i = 0; i < runs; i++) {
      const mine = reports.filter((r) => r.value.runId === `run-${i}`);
      expect(mine.map((r) => r.$case)).toEqual(["runStarted", "output", "runFinished"]);
      const chunk = mine[1]!.$case === "output" ? mine[1]!.value : undefined;
      expect({ text: Buffer.from(chunk!.data).toString(), seq: chunk!.seq }).toEqual({ text: `run ${i}\n`, seq: 1 });
      expect(mine[2]).toMatchObject({
        value: { outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, result: { i } },
      });
    }
  };

  it("says it reads batches, runs a batch of assigns, and sends the reports of one tick together, in order", async () => {
    const runs = 20;
    const { hello, messages, reports } = await reportsOf({ supervisorBatches: true, runs });
    expect(hello.acceptsBatches).toBe(true);
    expectEveryRunReported(reports, runs);
    expect(messages.some((m) => m.message?.$case === "batch")).toBe(true);
    expect(messages.length).toBeLessThan(reports.length);
    for (const message of messages) {
      if (message.message?.$case === "batch")
        expect(message.message.value.items.length).toBeLessThanOrEqual(MAX_BATCH_ITEMS);
    }
  });

  it("to a supervisor that does not read batches (an older one), every report goes alone", async () => {
    const runs = 20;
    const { hello, messages, reports } = await reportsOf({ supervisorBatches: false, runs });
    expect(hello.acceptsBatches).toBe(true);
    expectEveryRunReported(reports, runs);
    expect(messages.filter((m) => m.message?.$case === "batch")).toEqual([]);
    expect(messages.length).toBe(reports.length);
  });

  it("with batching off, it asks for no batches and sends every report alone", async () => {
    const runs = 20;
    const { hello, messages, reports } = await reportsOf({ batching: false, supervisorBatches: true, runs });
    expect(hello.acceptsBatches).toBe(false);
    expectEveryRunReported(reports, runs);
    expect(messages.filter((m) => m.message?.$case === "batch")).toEqual([]);
    expect(messages.length).toBe(reports.length);
  });
});
