import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type SupervisorClient as Client, embedded, RunPhase, SupervisorClient, TaskPhase } from "@supervisor/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { REPO_ROOT, stopChild } from "./helpers/cli.js";
import { installPythonSdk, missingPython, type PythonSdk, pythonEnv } from "./helpers/sdk-programs.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";
import { waitUntil } from "./helpers/wait.js";

/** test/python/runner_cases.py, with its stdout lines as events to wait on. */
interface PythonRunner {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first line (seen or to come) starting with `prefix`. */
  line(prefix: string): Promise<string>;
  output(): string;
}

function startPythonRunner(python: string, address: string, name: string): Promise<PythonRunner> {
  const child = spawn(python, ["-I", "test/python/runner_cases.py", name], {
    cwd: REPO_ROOT,
    env: { ...pythonEnv(), SUPERVISOR_ADDR: address },
  });
  const lines: string[] = [];
  const waiting: { prefix: string; resolve: (line: string) => void }[] = [];
  let output = "";
  child.stderr.on("data", (chunk) => (output += chunk));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    output += `${line}\n`;
    for (const waiter of waiting.filter((w) => line.startsWith(w.prefix))) waiter.resolve(line);
  });
  const runner: PythonRunner = {
    child,
    output: () => output,
    line: (prefix) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((line) => line.startsWith(prefix));
        if (seen) return resolve(seen);
        waiting.push({ prefix, resolve });
        child.once("exit", (code) => reject(new Error(`exited ${code} before "${prefix}":\n${output}`)));
      }),
  };
  return runner.line("runner connected as ").then(() => runner);
}

const phaseOf = async (client: Client, id: string) => (await client.get(id)).status!.phase;

const missing = missingPython();

// The SDKs speak gRPC to the server; the storage behind it does not change what they do: SQLite only.
describe.skipIf(missing.length > 0 || BACKEND !== "sqlite")("the Python SDK's runner", () => {
  let sdk: PythonSdk;
  let server: TestServer | undefined;
  let client: SupervisorClient | undefined;
  let runner: PythonRunner | undefined;
  let proxy: TcpProxy | undefined;
  beforeAll(async () => {
    sdk = await installPythonSdk();
  });
  afterAll(() => sdk?.remove());
  afterEach(async () => {
    if (runner) await stopChild(runner.child, "SIGKILL");
    client?.close();
    await proxy?.close();
    await server?.close();
    [runner, client, proxy, server] = [undefined, undefined, undefined, undefined];
  });

  async function setUp(settings: Record<string, string> = {}, viaProxy = false) {
    server = await startTestServer(settings);
    proxy = viaProxy ? await startTcpProxy(server.address) : undefined;
    client = new SupervisorClient({ address: server.address });
    runner = await startPythonRunner(sdk.python, proxy?.address ?? server.address, "py-cases");
    return { server, client, runner };
  }

  it("on SIGTERM drains: the run in hand finishes and is reported, then the process exits 0", async () => {
    const { client, runner } = await setUp();
    const task = await client.submit(embedded("hold", {}));
    await runner.line("started ");
    runner.child.kill("SIGTERM");
    runner.child.stdin.write("release\n");
    const exited = new Promise<number | null>((resolve) => runner.child.once("exit", resolve));
    expect(await exited, runner.output()).toBe(0);
    expect(runner.output()).toContain("runner stopped");
    const done = await client.waitFor(task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const [run] = await client.listRuns(task.id);
    expect(run!.result).toEqual({ released: true });
  });

  it("reconnects after its connection is cut, reports the run that ended meanwhile, and runs the next", async () => {
    const { client, runner } = await setUp({}, true);
    const held = await client.submit(embedded("hold", {}));
    await runner.line("started ");
    expect(proxy!.dropAll()).toBeGreaterThan(0);
    runner.child.stdin.write("release\n"); // ends while (or just after) the runner is away
    const done = await client.waitFor(held.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const [run] = await client.listRuns(held.id);
    expect(run!.phase).toBe(RunPhase.RUN_PHASE_SUCCEEDED);
    expect(run!.result).toEqual({ released: true });
    const next = await client.submit(embedded("fail", { n: 1 }));
    expect((await client.waitFor(next.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    expect(runner.output()).toMatch(/disconnected .*reconnecting in/);
  });

  it("a cancel stops a running handler: the run ends CANCELED", async () => {
    const { client, runner } = await setUp();
    const task = await client.submit(embedded("hold", {}));
    await runner.line("started ");
    await client.cancel(task.id, "test");
    const done = await client.waitFor(task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    const [run] = await client.listRuns(task.id);
    expect(run!.phase).toBe(RunPhase.RUN_PHASE_CANCELED);
  });

  it("heartbeats keep it connected, and its run alive, well past the lease", async () => {
    const { client, runner } = await setUp({ heartbeatInterval: "100ms", leaseTtl: "300ms" });
    const task = await client.submit(embedded("hold", {}));
    await runner.line("started ");
    const [info] = await client.listRunners();
    const connectedAt = info!.connectTime!.getTime();
    // Several lease periods go by (seen in the heartbeats the supervisor recorded), and the run is still RUNNING.
    await waitUntil(async () => {
      const [now] = await client.listRunners();
      return now!.lastHeartbeatTime!.getTime() - connectedAt > 1_000;
    }, "heartbeats past three lease periods");
    expect(await phaseOf(client, task.id)).toBe(TaskPhase.TASK_PHASE_RUNNING);
    runner.child.stdin.write("release\n");
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("a handler that raises fails its run with the error; RetryAfter defers the task instead", async () => {
    const { client } = await setUp();
    const failing = await client.submit(embedded("fail", { n: 3 }));
    expect((await client.waitFor(failing.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    const [failed] = await client.listRuns(failing.id);
    expect(failed!.error).toBe("ValueError: bad input 3");

    const deferred = await client.submit(embedded("later", {}));
    // Deferred, not failed: the task is tried again (a second attempt) though its restart policy is NEVER.
    await waitUntil(async () => (await client.listRuns(deferred.id)).length >= 2, "a second attempt");
    const [first] = await client.listRuns(deferred.id);
    expect(first!.error).toBe("the downstream asked to wait");
    await client.cancel(deferred.id);
  });
});
