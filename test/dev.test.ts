import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { credentials } from "@grpc/grpc-js";
import { Runner, TaskPhase, TaskServiceClient, TaskSpec } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { BACKEND, storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { waitForTask } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

const run = promisify(execFile);
const alive = (marker: string) =>
  run("pgrep", ["-f", `sleep ${marker}`]).then(
    () => true,
    () => false,
  );

async function startDev() {
  const cwd = tempDir("supervisor-dev-");
  // On SQLite, dev's own default (.supervisor/dev.db in its cwd); on PostgreSQL, a database of its own.
  const db = BACKEND === "postgres" ? ["--db", await storeForTest(cwd)] : [];
  const dev = await startCli(["dev", "--listen", "127.0.0.1:0", ...db], /serving on (\S+)[\s\S]*Stop with Ctrl-C/, {
    cwd,
  });
  return { ...dev, address: dev.match[1]! };
}

describe("supervisor dev", () => {
  it("leaves embedded tasks to a runner that has the handler (the local runner has none)", async () => {
    const dev = await startDev();
    const mine = new Runner({ address: dev.address, name: "mine", capacity: 1, log: () => {} }).handle(
      "greet",
      async (payload) => ({ greeting: `hello ${String(payload.name)}` }),
    );
    const client = new TaskServiceClient(dev.address, credentials.createInsecure());
    try {
      const mineId = await mine.start();
      expect(dev.output()).toContain("kinds subprocess, wasm");
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const spec = TaskSpec.fromPartial({
          exec: { $case: "embedded", value: { handler: "greet", payload: { name: `n${i}` } } },
        });
        const { task } = await call(rpc(client, "submitTask"), submitRequest(spec));
        ids.push(task!.id);
      }
      for (const id of ids) {
        const done = await waitForTask(client, id);
        expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, runnerId: mineId });
      }
    } finally {
      client.close();
      await mine.stop();
      await stopChild(dev.child);
    }
  });

  it("serves the HTTP API and the dashboard (127.0.0.1:8080, or a free port), their URLs in the banner", async () => {
    const dev = await startDev();
    try {
      const url = /HTTP API: (http:\/\/127\.0\.0\.1:\d+)\/v1\/tasks/.exec(dev.output())?.[1];
      expect(url, dev.output()).toBeDefined();
      // The dashboard on the same port, its URL in the banner too.
      expect(dev.output()).toContain(`dashboard: ${url}/ `);
      const dashboard = await fetch(`${url}/`);
      expect(dashboard.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await dashboard.text()).toContain("<title>Supervisor</title>");
      const submitted = await fetch(`${url}/v1/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ spec: { subprocess: { command: "echo", args: ["from http"] } } }),
      });
      const { task } = (await submitted.json()) as { task: { id: string } };
      const client = new TaskServiceClient(dev.address, credentials.createInsecure());
      try {
        // The local runner runs it: the HTTP API and gRPC are one server.
        expect((await waitForTask(client, task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      } finally {
        client.close();
      }
    } finally {
      await stopChild(dev.child);
    }
  });

  it("one Ctrl-C drains and says so; a second kills the running tasks' process groups", async () => {
    const dev = await startDev();
    // A unique duration is the marker: `sleep 300.<digits>` shows up in pgrep -f and nowhere else.
    const marker = `300.${process.pid}${Date.now() % 100_000}`;
    const client = new TaskServiceClient(dev.address, credentials.createInsecure());
    try {
      const { task } = await call(
        rpc(client, "submitTask"),
        submitRequest(subprocessSpec("sh", ["-c", `sleep ${marker} & sleep ${marker}; wait`])),
      );
      await waitForTask(client, task!.id, (t) => t.status!.reason === "STARTED");
      await waitUntil(() => alive(marker), "the task's processes to start");
      const exited = new Promise<number | null>((resolve) => dev.child.once("exit", resolve));
      dev.child.kill("SIGINT");
      await waitUntil(() => dev.output().includes("draining: waiting for 1 running task(s)"), "the drain message");
      expect(dev.child.exitCode).toBeNull(); // still draining: the task runs on
      expect(await alive(marker)).toBe(true);
      dev.child.kill("SIGINT");
      expect(await exited).toBe(1);
      expect(dev.output()).toContain("killing 1 running task(s)");
      await waitUntil(async () => !(await alive(marker)), "the task's process group to be gone", 10_000);
    } finally {
      client.close();
      await stopChild(dev.child, "SIGKILL");
      await run("pkill", ["-KILL", "-f", `sleep ${marker}`]).catch(() => {});
    }
  });
});
