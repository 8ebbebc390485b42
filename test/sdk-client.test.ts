import { rmSync } from "node:fs";
import { InterceptingCall, type Interceptor, status } from "@grpc/grpc-js";
import {
  ErrorReason,
  EventType,
  embedded,
  MAX_JSON_NESTING,
  Runner,
  RunnerState,
  SupervisorClient,
  SupervisorError,
  subprocess,
  type Task,
  TaskPhase,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../server/src/config.js";
import { silentLogger } from "../server/src/log.js";
import { startServer } from "../server/src/server.js";
import { storeForTest } from "./helpers/backend.js";
import { expectError } from "./helpers/grpc.js";
import { freePort } from "./helpers/ports.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

/**
 * A grpc-js interceptor reporting each call's start and final status by method name ("WatchTasks"):
 * the client's calls as events to wait on, through the library's own hook.
 */
function observeCalls(events: {
  onStart?: (method: string) => void;
  onStatus?: (method: string, code: status) => void;
}): Interceptor {
  return (options, nextCall) => {
    const method = options.method_definition.path.split("/").pop()!;
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        events.onStart?.(method);
        next(metadata, {
          onReceiveStatus(final, nextStatus) {
            events.onStatus?.(method, final.code);
            nextStatus(final);
          },
        });
      },
    });
  };
}

describe("SupervisorClient", () => {
  let server: TestServer;
  let client: SupervisorClient;
  let runner: Runner;
  beforeAll(async () => {
    server = await startTestServer();
    client = new SupervisorClient({ address: server.address });
    runner = new Runner({
      address: server.address,
      name: "sdk-runner",
      labels: { sdk: "yes" },
      capacity: 4,
      log: () => {},
    });
    runner.handle("greet", (payload) => ({ greeting: `hello ${payload.name}` }));
    runner.handle("deep", () => {
      let result: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < MAX_JSON_NESTING; i++) result = { a: result };
      return result;
    });
    await runner.start();
  });
  afterAll(async () => {
    await runner.stop();
    client.close();
    await server.close();
  });

  it("submit generates a request id, so a repeated submit is the same task", async () => {
    const task = await client.submit(subprocess("echo", ["hi"], { labels: { sdk: "submit" } }));
    expect(task.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const again = await client.submit(subprocess("echo", ["hi"], { labels: { sdk: "submit" } }), {
      requestId: task.requestId,
    });
    expect(again.id).toBe(task.id);
  });

  it("submitBatch, get, waitFor, listRuns and output work together", async () => {
    const [a, b] = await client.submitBatch([subprocess("echo", ["a"]), embedded("greet", { name: "sdk" })]);
    expect((await client.get(a!.id)).id).toBe(a!.id);
    const doneA = await client.waitFor(a!.id);
    const doneB = await client.waitFor(b!.id);
    expect([doneA.status!.phase, doneB.status!.phase]).toEqual([
      TaskPhase.TASK_PHASE_SUCCEEDED,
      TaskPhase.TASK_PHASE_SUCCEEDED,
    ]);
    const [run] = await client.listRuns(b!.id);
    expect(run!.result).toEqual({ greeting: "hello sdk" });
    const chunks: string[] = [];
    for await (const event of client.output(a!.id))
      if (event.event?.$case === "chunk") chunks.push(event.event.value.data.toString());
    expect(chunks.join("")).toBe("a\n");
  });

  it("a handler result the supervisor could not store fails the run with the reason, and the runner keeps working", async () => {
    // Sent as is, a result nested 33 levels deep is past the protobuf decoders' depth limit: the supervisor would
    // refuse the whole message, end the stream, and the runner would resend it on every reconnect.
    const deep = await client.submit(embedded("deep", {}, { maxAttempts: 1 }));
    const done = await client.waitFor(deep.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    const [run] = await client.listRuns(deep.id);
    expect(run!.error).toBe(`result refused: nested ${MAX_JSON_NESTING + 1} levels deep, at most ${MAX_JSON_NESTING}`);
    const next = await client.submit(embedded("greet", { name: "after" }));
    expect((await client.waitFor(next.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("list iterates every page; listPage returns one", async () => {
    await client.submitBatch(
      Array.from({ length: 7 }, (_, i) => subprocess("true", [], { labels: { sdk: "list", n: String(i) } })),
    );
    const page = await client.listPage({ filter: { labelSelector: "sdk=list" }, pageSize: 3 });
    expect(page.tasks).toHaveLength(3);
    expect(page.nextPageToken).not.toBe("");
    const all: Task[] = [];
    for await (const task of client.list({ filter: { labelSelector: "sdk=list" }, pageSize: 3 })) all.push(task);
    expect(all.map((t) => t.spec!.labels.n)).toEqual(["6", "5", "4", "3", "2", "1", "0"]);
  });

  it("cancel, listRunners and drain", async () => {
    const task = await client.submit(subprocess("true", [], { runnerSelector: { matchLabels: { nobody: "here" } } }));
    expect((await client.cancel(task.id, "changed my mind")).status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    const runners = await client.listRunners({ labelSelector: "sdk=yes" });
    expect(runners.map((r) => r.name)).toEqual(["sdk-runner"]);
    const extra = new Runner({ address: server.address, name: "sdk-drained", labels: { sdk: "drain" }, log: () => {} });
    onTestFinished(() => extra.stop());
    const id = await extra.start();
    const drained = await client.drain(id);
    expect(drained.name).toBe("sdk-drained");
    expect(drained.state).toBe(RunnerState.RUNNER_STATE_DRAINING);
    await waitUntil(() => extra.draining, "the runner to hear the drain");
    expect(extra.draining).toBe(true); // the runner heard it too
  });

  it("errors are SupervisorErrors with code and reason", async () => {
    const error = await client.get("0190c5e2-7b1d-7c3a-8f00-0123456789ab").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupervisorError);
    expect((error as SupervisorError).reason).toBe(ErrorReason.TASK_NOT_FOUND);
    await expectError(client.submit(subprocess("", [])), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
  });

  it("waitFor stops when its signal aborts", async () => {
    let watching!: () => void;
    const watchStarted = new Promise<void>((resolve) => (watching = resolve));
    const observed = new SupervisorClient({
      address: server.address,
      channelOptions: { interceptors: [observeCalls({ onStart: (m) => m === "WatchTasks" && watching() })] },
    });
    onTestFinished(() => observed.close());
    const task = await observed.submit(subprocess("true", [], { runnerSelector: { matchLabels: { nobody: "here" } } }));
    const controller = new AbortController();
    const waiting = observed.waitFor(task.id, { signal: controller.signal });
    await watchStarted; // past its first look at the task: waiting on the watch
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(SupervisorError);
  });

  it("the informer converges to a fresh list under churn", async () => {
    const events: string[] = [];
    const informer = client.informer({
      filter: { labelSelector: "sdk=informer" },
      onAdd: () => events.push("add"),
      onUpdate: () => events.push("update"),
      onDelete: () => events.push("delete"),
    });
    onTestFinished(() => informer.stop());
    await informer.synced;
    const tasks = await client.submitBatch(
      Array.from({ length: 10 }, () => subprocess("true", [], { labels: { sdk: "informer" } })),
    );
    for (const task of tasks.slice(0, 3)) await client.cancel(task.id).catch(() => undefined);
    await Promise.all(tasks.map((t) => client.waitFor(t.id)));
    const fresh = new Map<string, Task>();
    for await (const task of client.list({ filter: { labelSelector: "sdk=informer" } })) fresh.set(task.id, task);
    const revisions = (tasks: Map<string, Task>) => JSON.stringify([...tasks.values()].map((t) => t.revision).sort());
    // The last events may still be on their way; on a timeout the assertion below shows the difference.
    await waitUntil(() => revisions(informer.tasks) === revisions(fresh), "the informer to converge", 5_000).catch(
      () => undefined,
    );
    expect(informer.tasks).toEqual(fresh);
    expect(events.filter((e) => e === "add")).toHaveLength(10);
  });
});

describe("SupervisorClient across server restarts", () => {
  it("retries a submit until a server comes up, and watch resumes after a restart with no gap", async () => {
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const listen = `127.0.0.1:${await freePort()}`;
    const db = await storeForTest(dir, "sdk.db");
    const config = loadConfig({ flags: { listen, db, shutdownGracePeriod: "1s", metricsListen: "off" } });
    let refused!: () => void;
    const firstRefusal = new Promise<void>((resolve) => (refused = resolve));
    const client = new SupervisorClient({
      address: listen,
      retry: { maxAttempts: 20, initialDelayMs: 50, maxDelayMs: 200, multiplier: 2 },
      channelOptions: {
        interceptors: [
          observeCalls({ onStatus: (m, code) => m === "SubmitTask" && code === status.UNAVAILABLE && refused() }),
        ],
      },
    });
    onTestFinished(() => client.close());
    // Nothing listens yet: the submit is refused (UNAVAILABLE), then retried until the server is up.
    const submitted = client.submit(subprocess("true", []));
    await firstRefusal;
    let running = await startServer(config, silentLogger);
    onTestFinished(() => running.shutdown());
    const first = await submitted;

    const seen: number[] = [];
    const controller = new AbortController();
    onTestFinished(() => controller.abort());
    const watching = (async () => {
      for await (const event of client.watch({ sinceRevision: first.revision, signal: controller.signal })) {
        if (event.type !== EventType.EVENT_TYPE_BOOKMARK) seen.push(event.revision);
        if (seen.length === 4) controller.abort();
      }
    })();
    await client.submit(subprocess("true", []));
    await client.submit(subprocess("true", []));
    await waitUntil(() => seen.length >= 2, "the watch to deliver the first two submits");
    await running.shutdown();
    running = await startServer(config, silentLogger);
    await client.submit(subprocess("true", []));
    await client.submit(subprocess("true", []));
    await watching;
    expect(seen).toEqual([first.revision + 1, first.revision + 2, first.revision + 3, first.revision + 4]);
  });
});
