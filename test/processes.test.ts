import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { AdmissionPolicy, TaskPhase, TaskReason, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, startCli, stopChild } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { freePort } from "./helpers/ports.js";
import { startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

const run = promisify(execFile);
const BUF = `${REPO_ROOT}/node_modules/.bin/buf`;

const processAlive = async (pattern: string) =>
  await run("pgrep", ["-f", pattern]).then(
    () => true,
    () => false,
  );

describe("processes", () => {
  it("serve + runner in two processes run `echo hello` submitted with buf curl; StreamTaskOutput shows hello", async () => {
    const db = join(tempDir(), "two.db");
    const serve = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db], /serving on (\S+)/);
    const address = serve.match[1]!;
    const runner = await startRunner(address, "terminal-two");
    try {
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
      await waitForTask(client, submitted.task.id);
      client.close();
      const { stdout } = await curl("StreamTaskOutput", { taskId: submitted.task.id });
      const data = JSON.parse(stdout).chunk.data as string; // bytes are base64 in proto JSON
      expect(Buffer.from(data, "base64").toString()).toBe("hello\n");
    } finally {
      await runner.stop();
      await stopChild(serve.child);
    }
  });

  it("a runner on SIGTERM finishes its run, reports it, and exits 0", async () => {
    const server = await startTestServer();
    try {
      const runner = await startRunner(server.address, "graceful");
      const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("sleep", ["0.7"])));
      await waitForTask(server.tasks, task!.id, (t) => t.status!.reason === TaskReason.STARTED);
      expect(await runner.stop("SIGTERM")).toBe(0);
      expect((await waitForTask(server.tasks, task!.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    } finally {
      await server.close();
    }
  });

  it("supervisor SIGTERM exits 0 and tells runners; they reconnect when it is back and work goes on", async () => {
    const db = join(tempDir(), "restart.db");
    const listen = `127.0.0.1:${await freePort()}`;
    const first = await startCli(["serve", "--listen", listen, "--db", db], /serving on/);
    const runner = await startRunner(listen, "faithful");
    try {
      expect(await stopChild(first.child, "SIGTERM")).toBe(0);
      const second = await startCli(["serve", "--listen", listen, "--db", db], /serving on/);
      try {
        const client = new TaskServiceClient(listen, credentials.createInsecure());
        const { task } = await call(
          rpc(client, "submitTask"),
          submitRequest(subprocessSpec("echo", ["after restart"])),
        );
        const done = await waitForTask(client, task!.id);
        expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, runnerId: runner.id });
        client.close();
      } finally {
        await stopChild(second.child);
      }
    } finally {
      await runner.stop("SIGKILL");
    }
  });

  it("cancel kills the whole process group of a running task", async () => {
    const server = await startTestServer({ cancelGracePeriod: "1s" });
    const runner = await startRunner(server.address, "killer");
    try {
      const marker = `60.${process.pid}1`;
      // a shell that starts a grandchild: both are in the task's process group
      const { task } = await call(
        rpc(server.tasks, "submitTask"),
        submitRequest(subprocessSpec("sh", ["-c", `sleep ${marker} & wait`])),
      );
      await waitForTask(server.tasks, task!.id, (t) => t.status!.reason === TaskReason.STARTED);
      for (let i = 0; i < 100 && !(await processAlive(`sleep ${marker}`)); i++)
        await new Promise((r) => setTimeout(r, 20));
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
    } finally {
      await runner.stop("SIGKILL");
      await server.close();
    }
  });

  it("REPLACE of a running owner stops it (reason REPLACED) and starts the new task only once it has ended", async () => {
    const server = await startTestServer({ cancelGracePeriod: "1s" });
    const runner = await startRunner(server.address, "replacer", { capacity: 4 });
    try {
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
    } finally {
      await runner.stop("SIGKILL");
      await server.close();
    }
  });
});
