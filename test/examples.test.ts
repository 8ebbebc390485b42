import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, stopChild } from "./helpers/cli.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const run = promisify(execFile);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ httpListen: "127.0.0.1:0" }); // the cookbook's curl section calls it
});
afterAll(() => server?.close());

describe("examples", () => {
  it("the TypeScript runner and client examples work together", async () => {
    const env = { ...process.env, SUPERVISOR_ADDR: server.address };
    const runner = spawn(process.execPath, ["examples/dist/typescript/runner.js"], { cwd: REPO_ROOT, env });
    try {
      await new Promise<void>((resolve, reject) => {
        runner.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("runner connected") && resolve());
        runner.on("exit", (code) => reject(new Error(`runner example exited ${code}`)));
      });
      const { stdout } = await run(process.execPath, ["examples/dist/typescript/client.js"], { cwd: REPO_ROOT, env });
      expect(stdout).toMatch(/submitted [0-9a-f-]{36}/);
      expect(stdout.match(/TASK_PHASE_SUCCEEDED/g)).toHaveLength(2);
      expect(stdout).toContain("output: hello from the TypeScript client");
      expect(stdout).toContain('result: {"width":320,"height":240}');
      expect(stdout).toContain("listed 2 tasks with example=ts");
    } finally {
      expect(await stopChild(runner, "SIGTERM")).toBe(0); // stopChild: also when it has exited already
    }
  });
});

describe("docs/cookbook.md", () => {
  let runner: RunnerProcess;
  beforeAll(async () => {
    runner = await startRunner(server.address, "cookbook-runner");
  });
  afterAll(() => runner?.stop());

  it("every command in the cookbook runs as written", async () => {
    const markdown = readFileSync(`${REPO_ROOT}/docs/cookbook.md`, "utf8");
    const script = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
    // A user's shell: without the npm_* variables `npm test` sets, and with an empty npm user
    // config (this machine's ~/.npmrc makes npm warn on stderr, which jq would then be fed).
    const shellEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    const env = { ...shellEnv, ADDR: server.address, HTTP: server.server.httpUrl!, NPM_CONFIG_USERCONFIG: "/dev/null" };
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], { cwd: REPO_ROOT, env });
    expect(stdout).toMatch(/submitted [0-9a-f-]{36}/);
    expect(stdout).toContain('stored 1\n{"1":{"code":3,"reason":"INVALID_REQUEST","field":"spec.subprocess.command"}}');
    expect(stdout).toContain("hello\n"); // logs
    expect(stdout).toContain('"type":"EVENT_TYPE_BOOKMARK"'); // watch went live
    expect(stdout).toMatch(/TASK_PHASE_(RUNNING|CANCELED)/); // cancel
    expect(stdout).toMatch(/^would cancel \d+$/m); // CancelTasks dry run
    expect(stdout).toMatch(/^rerun of [0-9a-f-]{36}$/m);
    expect(stdout).toMatch(/^SERVING$/m); // health check through reflection alone
    expect(stdout).toContain('not_found\n{"reason":"TASK_NOT_FOUND","domain":"supervisor.v1"'); // decoded ErrorInfo
    expect(stdout).toContain("invalid_argument\nspec.subprocess.command: required"); // decoded BadRequest
    expect(stdout).toContain("spec.timeout: must be positive\n");
    expect(stdout).toContain("cookbook-runner RUNNER_STATE_CONNECTED");
    // schedules
    expect(stdout).toMatch(/^next fire \d{4}-\d\d-\d\dT0[12]:00:00Z$/m); // 03:00 in Berlin, in UTC
    expect(stdout).toContain("cookbook-nightly 0 3 * * * Europe/Berlin\n");
    expect(stdout).toContain("generation 2: 30 4 * * *\n");
    expect(stdout).toContain("paused true\n");
    expect(stdout).toContain("fired true TRIGGER_SCHEDULE from a schedule\n");
    expect(stdout).toMatch(/^SCHEDULE_NOT_FOUND$/m);
    // HTTP/JSON with curl
    expect(stdout).toMatch(/^http submitted [0-9a-f-]{36}$/m);
    expect(stdout).toContain("http got true\nhello over http\n\nhttp run 1 RUN_PHASE_SUCCEEDED\n");
    expect(stdout).toMatch(
      /^\{"type":"EVENT_TYPE_ADDED","id":"[0-9a-f-]{36}"\}\n\{"type":"EVENT_TYPE_BOOKMARK","id":null\}$/m,
    );
    expect(stdout).toContain("http listed TASK_PHASE_SUCCEEDED\nhttp would cancel 0\nhttp rerun of true\n");
    expect(stdout).toContain("http runner cookbook-runner RUNNER_STATE_CONNECTED\n");
    expect(stdout).toContain('{"code":5,"reason":"TASK_NOT_FOUND"}\nhttp status 404\n');
  });
});
