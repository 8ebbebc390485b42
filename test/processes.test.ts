import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { AdmissionPolicy, TaskPhase, TaskReason, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { REPO_ROOT, startCli, stopChild } from "./helpers/cli.js";
import { fileGate } from "./helpers/gate.js";
import { call, rpc } from "./helpers/grpc.js";
import { freePort } from "./helpers/ports.js";
import { startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

const run = promisify(execFile);
const BUF = `${REPO_ROOT}/node_modules/.bin/buf`;

const processAlive = async (pattern: string) =>
  await run("pgrep", ["-f", pattern]).then(
    () => true,
    () => false,
  );

/** Helpers that stop what they start once the running test is over, however it ended. */
async function testServer(settings: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer(settings);
  onTestFinished(() => server.close());
  return server;
}
async function runner(address: string, name: string, options?: Parameters<typeof startRunner>[2]) {
  const started = await startRunner(address, name, options);
  onTestFinished(async () => {
    await started.stop("SIGKILL");
  });
  return started;
}
async function serve(args: string[], ready: RegExp) {
  const started = await startCli(["serve", ...args], ready);
  onTestFinished(async () => {
    await stopChild(started.child, "SIGKILL");
  });
  return started;
}
function scratchDir(): string {
  const dir = tempDir();
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("processes", () => {
  it("serve + runner in two processes run `echo hello` submitted with buf curl; StreamTaskOutput shows hello", async () => {
    const db = await storeForTest(scratchDir(), "two.db");
    const supervisor = await serve(["--listen", "127.0.0.1:0", "--db", db], /serving on (\S+)/);
    const address = supervisor.match[1]!;
    await runner(address, "terminal-two");
    const curl = (method: string, body: object) =>
      run(BUF, [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-d",
        JSON.stringify(body),
        `http://${address}/supervisor.v1.TaskService/${method}`,
      ]);
    const submitted = JSON.parse(
      (await curl("SubmitTask", { spec: { subprocess: { command: "echo", args: ["hello"] } } })).stdout,
    );
    const client = new TaskServiceClient(address, credentials.createInsecure());
    onTestFinished(() => client.close());
    await waitForTask(client, submitted.task.id);
    const { stdout } = await curl("StreamTaskOutput", { taskId: submitted.task.id });
    const data = JSON.parse(stdout).chunk.data as string; // bytes are base64 in proto JSON
    expect(Buffer.from(data, "base64").toString()).toBe("hello\n");
  });

  it("a runner on SIGTERM finishes its run, reports it, and exits 0", async () => {
    const server = await testServer();
    const graceful = await runner(server.address, "graceful");
    // The run lasts until the runner has begun draining: the SIGTERM surely comes while it runs.
    const draining = fileGate(server.dir, "draining");
    const { task } = await call(
      rpc(server.tasks, "submitTask"),
      submitRequest(subprocessSpec("sh", ["-c", draining.wait])),
    );
    await waitForTask(server.tasks, task!.id, (t) => t.status!.reason === TaskReason.STARTED);
    const exited = graceful.stop("SIGTERM");
    await waitUntil(() => graceful.output().includes("draining (finishing 1 run(s))"), "the runner to drain");
    draining.open();
    expect(await exited).toBe(0);
    expect((await waitForTask(server.tasks, task!.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("supervisor SIGTERM exits 0 and tells runners; they reconnect when it is back and work goes on", async () => {
    const db = await storeForTest(scratchDir(), "restart.db");
    const listen = `127.0.0.1:${await freePort()}`;
    const first = await serve(["--listen", listen, "--db", db], /serving on/);
    const faithful = await runner(listen, "faithful");
    expect(await stopChild(first.child, "SIGTERM")).toBe(0);
    await serve(["--listen", listen, "--db", db], /serving on/);
    const client = new TaskServiceClient(listen, credentials.createInsecure());
    onTestFinished(() => client.close());
    const { task } = await call(rpc(client, "submitTask"), submitRequest(subprocessSpec("echo", ["after restart"])));
    const done = await waitForTask(client, task!.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, runnerId: faithful.id });
  });

  it("cancel kills the whole process group of a running task", async () => {
    const server = await testServer({ cancelGracePeriod: "1s" });
    await runner(server.address, "killer");
    const marker = `60.${process.pid}1`;
    // a shell that starts a grandchild: both are in the task's process group
    const { task } = await call(
      rpc(server.tasks, "submitTask"),
      submitRequest(subprocessSpec("sh", ["-c", `sleep ${marker} & wait`])),
    );
    await waitForTask(server.tasks, task!.id, (t) => t.status!.reason === TaskReason.STARTED);
    await waitUntil(() => processAlive(`sleep ${marker}`), "the grandchild to start", 5_000).catch(() => undefined);
    expect(await processAlive(`sleep ${marker}`)).toBe(true);
    await call(rpc(server.tasks, "cancelTask"), { id: task!.id, reason: "wrong branch deployed" });
    const canceled = await waitForTask(server.tasks, task!.id);
    // The canceller's reason outlives the end of the run.
    expect(canceled.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_CANCELED,
      reason: TaskReason.CANCELED_BY_CLIENT,
      message: expect.stringMatching(/^wrong branch deployed; attempt 1 was canceled/),
    });
    expect(await processAlive(`sleep ${marker}`)).toBe(false);
  });

  it("REPLACE of a running owner stops it (reason REPLACED) and starts the new task only once it has ended", async () => {
    const server = await testServer({ cancelGracePeriod: "1s" });
    await runner(server.address, "replacer", { capacity: 4 });
    const slot = "deploy-web";
    const { task: old } = await call(
      rpc(server.tasks, "submitTask"),
      submitRequest(subprocessSpec("sleep", ["60"], { slot })),
    );
    await waitForTask(server.tasks, old!.id, (t) => t.status!.reason === TaskReason.STARTED);
    const { task: next } = await call(
      rpc(server.tasks, "submitTask"),
      submitRequest(subprocessSpec("echo", ["v2"], { slot, admission: AdmissionPolicy.ADMISSION_POLICY_REPLACE })),
    );
    const replaced = await waitForTask(server.tasks, old!.id);
    expect(replaced.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_CANCELED, reason: TaskReason.REPLACED });
    const done = await waitForTask(server.tasks, next!.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(done.status!.startTime!.getTime()).toBeGreaterThanOrEqual(replaced.status!.finishTime!.getTime());
  });
});
