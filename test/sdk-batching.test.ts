import { status } from "@grpc/grpc-js";
import {
  AdmissionPolicy,
  type BatchSubmitTasksRequest,
  type ClientOptions,
  ErrorReason,
  embedded,
  SupervisorClient,
  SupervisorError,
  subprocess,
  type Task,
  type TaskSpecInput,
} from "@supervisor/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { type CallRecorder, recordCalls } from "./helpers/server-calls.js";
import { waitUntil } from "./helpers/wait.js";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: TestServer;
let recorder: CallRecorder;
const clients: SupervisorClient[] = [];
beforeAll(async () => {
  recorder = recordCalls();
  server = await startTestServer({ slotQueueLimit: 1 }, { interceptors: [recorder.interceptor] });
});
afterEach(() => {
  recorder.calls.length = 0;
  recorder.onRequest = undefined;
  recorder.onCancel = undefined;
});
afterAll(async () => {
  for (const client of clients) client.close();
  await server.close();
});

const clientWith = (options: ClientOptions = {}) => {
  const client = new SupervisorClient({ address: server.address, ...options });
  clients.push(client);
  return client;
};
let labels = 0;
/** A label unique to one test, to count exactly its tasks. */
const freshLabel = () => `batching-${++labels}`;
const echo = (label: string, i: number) => subprocess("echo", [String(i)], { labels: { run: label } });
const argOf = (task: Task) => (task.spec!.exec as { value: { args: string[] } }).value.args[0];
const stored = async (client: SupervisorClient, label: string) => {
  const tasks: Task[] = [];
  for await (const task of client.list({ filter: { labelSelector: `run=${label}` } })) tasks.push(task);
  return tasks;
};
/** How many submits each batch call carried, in arrival order. */
const batchSizes = () =>
  recorder.calls
    .filter((call) => call.method === "BatchSubmitTasks")
    .map((call) => (call.request as BatchSubmitTasksRequest).requests.length);
/** What a caller can see of an error: everything but the stack and the cause. */
const seen = (error: unknown) => {
  const e = SupervisorError.from(error);
  return { code: e.codeName, reason: e.reason, message: e.message, metadata: e.metadata, fields: e.fieldViolations };
};

describe("SDK auto-batching", () => {
  it("sends submits made together as one BatchSubmitTasks, each caller getting its own task", async () => {
    const client = clientWith();
    const label = freshLabel();
    const tasks = await Promise.all(Array.from({ length: 100 }, (_, i) => client.submit(echo(label, i))));
    expect(recorder.counts()).toEqual({ BatchSubmitTasks: 1 });
    expect(batchSizes()).toEqual([100]);
    expect(tasks.map(argOf)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(new Set(tasks.map((t) => t.id)).size).toBe(100);
    expect((await stored(client, label)).length).toBe(100);
    // Request ids are UUIDv7, in submit order (they sort the server's idempotency index).
    for (const task of tasks) expect(task.requestId).toMatch(V7);
    const requestIds = tasks.map((t) => t.requestId);
    expect([...requestIds].sort()).toEqual(requestIds);
  });

  it("sends a submit made alone as a plain SubmitTask", async () => {
    const client = clientWith();
    const task = await client.submit(echo(freshLabel(), 0));
    expect(recorder.counts()).toEqual({ SubmitTask: 1 });
    expect(task.requestId).toMatch(V7);
  });

  it("answers a refused submit with its own error, the very one SubmitTask gives, and stores the others", async () => {
    const batched = clientWith();
    const alone = clientWith({ batching: false });
    const label = freshLabel();
    const slot = `batching-slot-${label}`;
    const owner = await alone.submit(subprocess("sleep", ["5"], { slot }));
    const first = await alone.submit(echo(label, -1), { requestId: `${label}-reused` });
    const refused: [TaskSpecInput, { requestId?: string }][] = [
      [subprocess("echo", ["busy"], { slot }), { requestId: `${label}-busy` }],
      [subprocess("", [], { labels: { run: label } }), { requestId: `${label}-bad` }],
      [echo(label, 99), { requestId: `${label}-reused` }],
      [subprocess("echo", ["queued"], { slot: `${slot}-q`, admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE }), {}],
    ];
    const unaryErrors = [];
    for (const [spec, options] of refused.slice(0, 3))
      unaryErrors.push(seen(await alone.submit(spec, options).catch((e) => e)));
    recorder.calls.length = 0;

    const outcomes = await Promise.allSettled([
      batched.submit(echo(label, 0)),
      ...refused.map(([spec, options]) => batched.submit(spec, options)),
      batched.submit(echo(label, 1)),
    ]);
    expect(recorder.counts()).toEqual({ BatchSubmitTasks: 1 });
    const errors = outcomes.slice(1, 4).map((outcome) => {
      expect(outcome.status).toBe("rejected");
      return seen((outcome as PromiseRejectedResult).reason);
    });
    expect(errors).toEqual(unaryErrors);
    expect(errors.map((e) => [e.code, e.reason])).toEqual([
      ["FAILED_PRECONDITION", ErrorReason.SLOT_BUSY],
      ["INVALID_ARGUMENT", ErrorReason.INVALID_REQUEST],
      ["ALREADY_EXISTS", ErrorReason.REQUEST_ID_REUSED],
    ]);
    expect(errors[0]!.metadata.owner_task_id).toBe(owner.id);
    expect(errors[1]!.fields.map((f) => f.field)).toEqual(["spec.subprocess.command"]);
    for (const index of [0, 4, 5]) expect(outcomes[index]!.status).toBe("fulfilled");
    const fulfilled = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    expect(fulfilled.map(argOf)).toEqual(["0", "queued", "1"]);
    expect((await stored(batched, label)).map((t) => t.id).sort()).toEqual(
      [first.id, fulfilled[0]!.id, fulfilled[2]!.id].sort(),
    );
  });

  it("answers an aborted submit at once (CANCELLED) and leaves the others of its call alone", async () => {
    const client = clientWith();
    const label = freshLabel();
    const early = new AbortController();
    const late = new AbortController();
    // The late one is aborted once its call has reached the server.
    recorder.onRequest = (call) => {
      if (call.method === "BatchSubmitTasks") late.abort();
    };
    const outcomes = Promise.allSettled([
      client.submit(echo(label, 0)),
      client.submit(echo(label, 1), { signal: early.signal }),
      client.submit(echo(label, 2), { signal: late.signal }),
      client.submit(echo(label, 3)),
    ]);
    early.abort(); // before the call is sent: it does not go
    const [a, b, c, d] = await outcomes;
    expect(batchSizes()).toEqual([3]);
    expect([a, d].map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    for (const aborted of [b, c]) {
      expect(aborted!.status).toBe("rejected");
      expect(seen((aborted as PromiseRejectedResult).reason).code).toBe("CANCELLED");
    }
    expect(recorder.calls[0]!.code).toBe(status.OK); // the call went on for the others
    // The early one was never sent; the late one was already with the server (as with a cancelled SubmitTask).
    expect((await stored(client, label)).map(argOf).sort()).toEqual(["0", "2", "3"]);
  });

  it("cancels the call once every submit it carries was aborted", async () => {
    const client = clientWith();
    const controller = new AbortController();
    recorder.onRequest = (call) => {
      if (call.method === "BatchSubmitTasks") controller.abort();
    };
    const label = freshLabel();
    const submits = [0, 1, 2].map((i) => client.submit(echo(label, i), { signal: controller.signal }));
    for (const submit of submits) await expectError(submit, status.CANCELLED, "CANCELLED");
    await waitUntil(() => recorder.calls[0]?.cancelled === true, "the server to see the call cancelled");
  });

  it("does not merge submits with different deadlines; each call has the earliest deadline of its submits", async () => {
    const client = clientWith();
    const label = freshLabel();
    const before = Date.now();
    const submits = [5_000, 60_000, 5_000, 60_000].map((deadlineMs, i) =>
      client.submit(echo(label, i), { deadlineMs }),
    );
    const after = Date.now();
    await Promise.all(submits);
    const batches = recorder.calls.filter((call) => call.method === "BatchSubmitTasks");
    expect(batchSizes()).toEqual([2, 2]);
    // The server reads a deadline as a timeout from when the call arrived: ±1 ms of rounding.
    const deadlines = batches.map((call) => call.deadline).sort((x, y) => x - y);
    expect(deadlines[0]).toBeGreaterThan(before + 4_000);
    expect(deadlines[0]).toBeLessThan(after + 6_000);
    expect(deadlines[1]).toBeGreaterThan(before + 59_000);
    expect(deadlines[1]).toBeLessThan(after + 61_000);
  });

  it("keeps a call within the server's limits: maxBatchSize, and 3 MiB", async () => {
    const small = clientWith({ batching: { maxBatchSize: 10 } });
    const label = freshLabel();
    await Promise.all(Array.from({ length: 25 }, (_, i) => small.submit(echo(label, i))));
    expect(batchSizes()).toEqual([10, 10, 5]);

    recorder.calls.length = 0;
    const client = clientWith();
    const bigLabel = freshLabel();
    // 14 × 250 KB: 3.5 MB, more than one batch may carry (the server would refuse it whole).
    const big = (i: number) => embedded("h", { blob: "x".repeat(250_000), i }, { labels: { run: bigLabel } });
    const tasks = await Promise.all(Array.from({ length: 14 }, (_, i) => client.submit(big(i))));
    expect(new Set(tasks.map((t) => t.id)).size).toBe(14);
    expect(batchSizes().reduce((sum, n) => sum + n, 0)).toBe(14);
    expect(batchSizes().length).toBeGreaterThanOrEqual(2);
  });

  it("retries a call whose answer was lost with the same request ids: each caller gets the stored task", async () => {
    const client = clientWith({ retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 10, multiplier: 2 } });
    const label = freshLabel();
    recorder.loseAnswers("BatchSubmitTasks", 1);
    const tasks = await Promise.all(Array.from({ length: 10 }, (_, i) => client.submit(echo(label, i))));
    const first = recorder.calls[0]!;
    expect(first.method).toBe("BatchSubmitTasks");
    const sentIds = (first.request as BatchSubmitTasksRequest).requests.map((r) => r.requestId);
    expect(tasks.map((t) => t.requestId)).toEqual(sentIds);
    expect(recorder.calls.length).toBeGreaterThan(1); // the retries
    const kept = await stored(client, label);
    expect(kept.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort()); // stored once each
  });

  it("with lingerMs, submits made in later turns of the event loop join the call; without, they do not", async () => {
    const label = freshLabel();
    /** One turn of the event loop (the check phase), not a wait for time. */
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const submitOverTurns = async (client: SupervisorClient) => {
      const submits = [];
      for (let i = 0; i < 3; i++) {
        submits.push(client.submit(echo(label, i)));
        await turn();
      }
      return Promise.all(submits);
    };
    // A linger far longer than the test: the call goes when the third submit fills it.
    const lingering = clientWith({ batching: { lingerMs: 3_600_000, maxBatchSize: 3 } });
    expect((await submitOverTurns(lingering)).map(argOf)).toEqual(["0", "1", "2"]);
    expect(recorder.counts()).toEqual({ BatchSubmitTasks: 1 });
    recorder.calls.length = 0;
    await submitOverTurns(clientWith());
    expect(recorder.counts()).toEqual({ SubmitTask: 3 });
  });

  it("with a linger below 1 ms, sends a lone submit once it is over, and concurrent ones together", async () => {
    const client = clientWith({ batching: { lingerMs: 0.3 } });
    const label = freshLabel();
    await client.submit(echo(label, 0));
    expect(recorder.counts()).toEqual({ SubmitTask: 1 });
    recorder.calls.length = 0;
    await Promise.all([1, 2, 3].map((i) => client.submit(echo(label, i))));
    expect(batchSizes()).toEqual([3]);
  });

  it("sends the submits still waiting when the client closes, as they would have gone alone", async () => {
    const outcomes = async (batching: boolean, connected: boolean) => {
      const client = clientWith({ batching });
      if (connected) await client.submit(echo(freshLabel(), -1));
      const submits = [0, 1].map((i) => client.submit(echo(freshLabel(), i)));
      client.close();
      const after = client.submit(echo(freshLabel(), 2));
      return (await Promise.allSettled([...submits, after])).map((outcome) =>
        outcome.status === "fulfilled" ? "stored" : seen(outcome.reason),
      );
    };
    for (const connected of [false, true]) {
      const alone = await outcomes(false, connected);
      expect(await outcomes(true, connected)).toEqual(alone);
      // Whatever the channel does with calls under way, a submit after close() is refused.
      expect(alone[2]).toMatchObject({ code: "UNKNOWN", message: "Channel has been shut down" });
    }
  });

  it("with batching off, sends every submit as its own SubmitTask", async () => {
    const client = clientWith({ batching: false });
    const label = freshLabel();
    const tasks = await Promise.all(Array.from({ length: 5 }, (_, i) => client.submit(echo(label, i))));
    expect(recorder.counts()).toEqual({ SubmitTask: 5 });
    expect(tasks.map(argOf)).toEqual(["0", "1", "2", "3", "4"]);
    for (const task of tasks) expect(task.requestId).toMatch(V7);
  });

  it("falls back to one SubmitTask per submit against a server that answers batches all or nothing", async () => {
    const client = clientWith();
    const label = freshLabel();
    const slot = `old-server-${label}`;
    await client.submit(subprocess("sleep", ["5"], { slot }));
    // A server that predates return_partial_success ignores the field.
    recorder.onRequest = (call) =>
      call.method === "BatchSubmitTasks"
        ? { ...(call.request as BatchSubmitTasksRequest), returnPartialSuccess: false }
        : undefined;
    recorder.calls.length = 0;
    const [ok, busy] = await Promise.allSettled([
      client.submit(echo(label, 0)),
      client.submit(subprocess("echo", ["busy"], { slot })),
    ]);
    expect(ok!.status).toBe("fulfilled");
    expect(seen((busy as PromiseRejectedResult).reason).reason).toBe(ErrorReason.SLOT_BUSY);
    expect(recorder.counts()).toEqual({ BatchSubmitTasks: 1, SubmitTask: 2 });
    recorder.calls.length = 0;
    await Promise.all([client.submit(echo(label, 1)), client.submit(echo(label, 2))]);
    expect(recorder.counts()).toEqual({ SubmitTask: 2 });
  });

  it("falls back too when the old server refuses a batch for one bad field, naming it requests[i]", async () => {
    const client = clientWith();
    const label = freshLabel();
    recorder.onRequest = (call) =>
      call.method === "BatchSubmitTasks"
        ? { ...(call.request as BatchSubmitTasksRequest), returnPartialSuccess: false }
        : undefined;
    const [ok, bad] = await Promise.allSettled([
      client.submit(echo(label, 0)),
      client.submit(subprocess("", [], { labels: { run: label } })),
    ]);
    expect(recorder.counts()).toEqual({ BatchSubmitTasks: 1, SubmitTask: 2 });
    expect(ok!.status).toBe("fulfilled");
    const error = seen((bad as PromiseRejectedResult).reason);
    expect([error.code, error.reason]).toEqual(["INVALID_ARGUMENT", ErrorReason.INVALID_REQUEST]);
    expect(error.fields.map((f) => f.field)).toEqual(["spec.subprocess.command"]);
  });
});
