import { rmSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { TaskPhase, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { startRunner, waitForTask } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

interface LogLine {
  level: string;
  time: string;
  msg: string;
  task_id?: string;
  run_id?: string;
  runner?: string;
  phase?: string;
}

/** A real `supervisor serve`, a real runner, one task that succeeds and one that fails; the server then stops. */
async function serverRun(logArgs: string[], { disconnectLogged = true } = {}) {
  const dir = tempDir();
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const db = await storeForTest(dir, "logs.db");
  const serve = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db, ...logArgs], /serving on (\S+)/);
  onTestFinished(() => stopChild(serve.child, "SIGKILL").then(() => {}));
  const address = serve.match[1]!;
  const runner = await startRunner(address, "log-runner");
  onTestFinished(() => runner.stop("SIGKILL").then(() => {}));
  const client = new TaskServiceClient(address, credentials.createInsecure());
  onTestFinished(() => client.close());
  const submit = async (args: string[]) =>
    (await call(rpc(client, "submitTask"), submitRequest(subprocessSpec("sh", ["-c", ...args])))).task!.id;
  const succeeding = await submit(["echo fine"]);
  const failing = await submit(["exit 3"]);
  expect((await waitForTask(client, succeeding)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  expect((await waitForTask(client, failing)).status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
  await runner.stop("SIGTERM");
  // Heard before the server stops, so the line is there (at the levels that show it).
  if (disconnectLogged) await waitUntil(() => serve.output().includes("runner log-runner disconnected"), "the line");
  expect(await stopChild(serve.child, "SIGTERM")).toBe(0);
  return { output: serve.output(), succeeding, failing };
}

const lines = (output: string) => output.split("\n").filter((line) => line !== "");

describe("server logs", () => {
  it("--log-format json: every line the server prints is a JSON object with level, time and msg", async () => {
    const { output, failing } = await serverRun(["--log-format", "json", "--log-level", "debug"]);
    const parsed = lines(output).map((line) => {
      expect(() => JSON.parse(line), line).not.toThrow();
      return JSON.parse(line) as LogLine;
    });
    for (const line of parsed) {
      expect(["error", "warn", "info", "debug"]).toContain(line.level);
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(typeof line.msg).toBe("string");
    }
    const msgs = parsed.map((line) => line.msg);
    expect(msgs.some((msg) => /^supervisor serving on \S+ \(/.test(msg))).toBe(true);
    expect(parsed).toContainEqual(expect.objectContaining({ level: "info", runner: "log-runner" }));
    const failedRun = parsed.find((line) => line.task_id === failing && /finished/.test(line.msg));
    expect(failedRun).toMatchObject({ level: "debug", phase: "FAILED", runner: "log-runner" });
    expect(failedRun!.run_id).toMatch(/\S/);
    expect(msgs).toContain("runner log-runner disconnected");
    expect(msgs.at(-1)).toBe("shutting down");
  });

  it("--log-level warn hides info and debug lines; the serving line is still there", async () => {
    const { output } = await serverRun(["--log-format", "json", "--log-level", "warn"], { disconnectLogged: false });
    const parsed = lines(output).map((line) => JSON.parse(line) as LogLine);
    const shown = parsed.filter((line) => !line.msg.startsWith("supervisor serving on "));
    expect(parsed.length - shown.length).toBe(1);
    for (const line of shown) expect(["warn", "error"]).toContain(line.level);
  });

  it("--log-format pretty: readable lines, not JSON, that still name the address", async () => {
    const { output } = await serverRun(["--log-format", "pretty"]);
    expect(output).toMatch(/^\S+Z INFO {2}supervisor serving on \S+ \(/m);
    expect(output).toMatch(/^\S+Z INFO {2}runner log-runner connected runner=log-runner/m);
    for (const line of lines(output)) expect(line.startsWith("{")).toBe(false);
  });
});
