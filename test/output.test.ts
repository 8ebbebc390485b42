import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  Runner,
  type StreamTaskOutputRequest,
  type StreamTaskOutputResponse,
  TaskPhase,
  TaskSpec,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileGate } from "./helpers/gate.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";
import { printingModule, spinningModule, writeModule } from "./helpers/wasm.js";

let server: TestServer;
let runner: RunnerProcess;
beforeAll(async () => {
  server = await startTestServer({ outputCapBytes: 1 << 20 });
  runner = await startRunner(server.address, "output-runner", { capacity: 4 });
});
afterAll(async () => {
  await runner?.stop();
  await server?.close();
});

const submit = async (spec: TaskSpec) => (await call(rpc(server.tasks, "submitTask"), submitRequest(spec))).task!;
const output = (request: Partial<StreamTaskOutputRequest>) =>
  messages(server.tasks.streamTaskOutput({ taskId: "", attempt: 0, follow: false, sinceSeq: 0, ...request }));
async function all(stream: AsyncIterable<StreamTaskOutputResponse>): Promise<StreamTaskOutputResponse[]> {
  const events: StreamTaskOutputResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}
const text = (events: StreamTaskOutputResponse[]) =>
  Buffer.concat(events.flatMap((e) => (e.event?.$case === "chunk" ? [e.event.value.data] : []))).toString();

describe("StreamTaskOutput", () => {
  it("returns stdout and stderr of a finished task, in order", async () => {
    const task = await submit(subprocessSpec("sh", ["-c", "echo out1; echo err1 >&2; echo out2"]));
    await waitForTask(server.tasks, task.id);
    const events = await all(output({ taskId: task.id }));
    const chunks = events
      .map((e) => e.event)
      .filter((e) => e?.$case === "chunk")
      .map((e) => e!.value as { stream: number; data: Buffer; seq: number });
    expect(chunks.map((c) => c.seq)).toEqual([...chunks.map((c) => c.seq)].sort((a, b) => a - b));
    const byStream = (stream: number) =>
      Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => c.data)).toString();
    expect(byStream(1)).toBe("out1\nout2\n");
    expect(byStream(2)).toBe("err1\n");
  });

  it("caps 5 MiB of output at 1 MiB: keeps head and tail, reports the dropped bytes", async () => {
    const script = "echo START; head -c 5242880 /dev/zero | tr '\\0' x; echo; echo END";
    const task = await submit(subprocessSpec("sh", ["-c", script]));
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const events = await all(output({ taskId: task.id }));
    const truncated = events.filter((e) => e.event?.$case === "truncated");
    expect(truncated).toHaveLength(1);
    const dropped = (truncated[0]!.event as { value: { droppedBytes: number } }).value.droppedBytes;
    const stored = text(events);
    const total = "START\n".length + 5_242_880 + "\nEND\n".length;
    expect(stored.startsWith("START\nxxx")).toBe(true);
    expect(stored.endsWith("xxx\nEND\n")).toBe(true);
    expect(stored.length).toBeLessThanOrEqual(1 << 20);
    expect(stored.length + dropped).toBe(total);
    // the marker sits between the head and the tail
    const markerAt = events.findIndex((e) => e.event?.$case === "truncated");
    expect(markerAt).toBeGreaterThan(0);
    expect(markerAt).toBeLessThan(events.length - 1);
    const [run] = (await call(rpc(server.tasks, "listTaskRuns"), { taskId: task.id, pageSize: 0, pageToken: "" })).runs;
    expect(run).toMatchObject({ outputBytes: total, outputTruncated: true });
  });

  it("follow streams lines as they are printed, then run_finished", async () => {
    // "two" is printed only once "one" has arrived: output held back until the end never arrives.
    const oneArrived = fileGate(server.dir, "follow-one");
    const task = await submit(subprocessSpec("sh", ["-c", `echo one; ${oneArrived.wait}; echo two`]));
    const stream = output({ taskId: task.id, follow: true });
    const first = await stream.next();
    expect(first.value.event.$case).toBe("runStarted");
    let seen = "";
    let phaseWhenOneArrived: TaskPhase | undefined;
    const rest: StreamTaskOutputResponse[] = [];
    for await (const event of stream) {
      rest.push(event);
      if (event.event?.$case === "chunk") {
        seen += event.event.value.data.toString();
        if (seen.includes("one") && phaseWhenOneArrived === undefined) {
          phaseWhenOneArrived = (await call(rpc(server.tasks, "getTask"), { id: task.id })).task!.status!.phase;
          oneArrived.open();
        }
      }
    }
    expect(phaseWhenOneArrived).toBe(TaskPhase.TASK_PHASE_RUNNING); // "one" arrived while the task still ran
    expect(seen).toBe("one\ntwo\n");
    expect(rest.at(-1)!.event!.$case).toBe("runFinished");
  });

  it("follow on a pending task waits for its run to start", async () => {
    const task = await submit(
      subprocessSpec("echo", ["late"], { runnerSelector: { matchLabels: { when: "later" }, matchExpressions: [] } }),
    );
    const events = all(output({ taskId: task.id, follow: true }));
    const later = await startRunner(server.address, "later-runner", { labels: { when: "later" } });
    try {
      const received = await events;
      expect(received[0]!.event!.$case).toBe("runStarted");
      expect(text(received)).toBe("late\n");
      expect(received.at(-1)!.event!.$case).toBe("runFinished");
    } finally {
      await later.stop();
    }
  });

  it("since_seq resumes after the chunks already seen", async () => {
    // Three chunks for sure: each line is printed only once the one before it has arrived.
    const gates = [fileGate(server.dir, "since-seq-b"), fileGate(server.dir, "since-seq-c")];
    const script = `echo a; ${gates[0]!.wait}; echo b; ${gates[1]!.wait}; echo c`;
    const task = await submit(subprocessSpec("sh", ["-c", script]));
    let arrived = 0;
    for await (const event of output({ taskId: task.id, follow: true }))
      if (event.event?.$case === "chunk") gates[arrived++]?.open();
    await waitForTask(server.tasks, task.id);
    const everything = await all(output({ taskId: task.id }));
    const seqs = everything
      .filter((e) => e.event?.$case === "chunk")
      .map((e) => (e.event!.value as { seq: number }).seq);
    expect(seqs).toHaveLength(3);
    const resumed = await all(output({ taskId: task.id, sinceSeq: seqs[0]! }));
    expect(
      resumed.filter((e) => e.event?.$case === "chunk").map((e) => (e.event!.value as { seq: number }).seq),
    ).toEqual(seqs.slice(1));
  });

  it("no output → NOT_FOUND / OUTPUT_NOT_FOUND; unknown task → TASK_NOT_FOUND; bad arguments → INVALID_ARGUMENT", async () => {
    const quiet = await submit(subprocessSpec("true", []));
    await waitForTask(server.tasks, quiet.id);
    await expectError(all(output({ taskId: quiet.id })), status.NOT_FOUND, ErrorReason.OUTPUT_NOT_FOUND);
    await expectError(all(output({ taskId: quiet.id, attempt: 7 })), status.NOT_FOUND, ErrorReason.OUTPUT_NOT_FOUND);
    await expectError(
      all(output({ taskId: "0190c5e2-7b1d-7c3a-8f00-0123456789ab" })),
      status.NOT_FOUND,
      ErrorReason.TASK_NOT_FOUND,
    );
    const bad = await expectError(
      all(output({ taskId: quiet.id, attempt: -1 })),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(bad.fieldViolations[0]!.field).toBe("attempt");
    const missing = await expectError(all(output({})), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(missing.fieldViolations[0]!.field).toBe("task_id");
  });
});

describe("embedded and wasm tasks", () => {
  it("an embedded handler runs in the runner process with the payload and returns a result", async () => {
    const sdkRunner = new Runner({
      address: server.address,
      name: "embedded-runner",
      labels: { lang: "ts" },
      log: () => {},
    });
    sdkRunner.handle("double", (payload, ctx) => {
      ctx.log(`doubling ${payload.n}`);
      return { doubled: (payload.n as number) * 2 };
    });
    sdkRunner.handle("explode", () => {
      throw new Error("kaboom");
    });
    await sdkRunner.start();
    try {
      const ok = await submit(
        TaskSpec.fromPartial({ exec: { $case: "embedded", value: { handler: "double", payload: { n: 21 } } } }),
      );
      const bad = await submit(
        TaskSpec.fromPartial({ exec: { $case: "embedded", value: { handler: "explode", payload: {} } } }),
      );
      expect((await waitForTask(server.tasks, ok.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      expect((await waitForTask(server.tasks, bad.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
      const [okRun] = (await call(rpc(server.tasks, "listTaskRuns"), { taskId: ok.id, pageSize: 0, pageToken: "" }))
        .runs;
      expect(okRun!.result).toEqual({ doubled: 42 });
      expect(text(await all(output({ taskId: ok.id })))).toBe("doubling 21\n");
      const [badRun] = (await call(rpc(server.tasks, "listTaskRuns"), { taskId: bad.id, pageSize: 0, pageToken: "" }))
        .runs;
      expect(badRun!.error).toBe("kaboom");
    } finally {
      await sdkRunner.stop();
    }
  });

  it("a WASI module runs with its output captured and its exit code recorded", async () => {
    const dir = tempDir("supervisor-wasm-");
    const hello = writeModule(dir, "hello.wasm", printingModule("hello from wasm\n", 0));
    const three = writeModule(dir, "three.wasm", printingModule("bye\n", 3));
    const spin = writeModule(dir, "spin.wasm", spinningModule());
    const wasm = (modulePath: string, timeout?: number) =>
      submit(
        TaskSpec.fromPartial({
          exec: { $case: "wasm", value: { modulePath, args: [], env: {} } },
          ...(timeout ? { timeout: { seconds: timeout, nanos: 0 } } : {}),
        }),
      );
    const [okTask, failTask, spinTask] = [await wasm(hello), await wasm(three), await wasm(spin, 1)];
    expect((await waitForTask(server.tasks, okTask.id)).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_SUCCEEDED,
      exitCode: 0,
    });
    expect(text(await all(output({ taskId: okTask.id })))).toBe("hello from wasm\n");
    expect((await waitForTask(server.tasks, failTask.id)).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_FAILED,
      exitCode: 3,
    });
    expect((await waitForTask(server.tasks, spinTask.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_TIMEOUT);
  });
});
