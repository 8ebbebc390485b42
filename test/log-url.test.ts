import { type Run, Runner, RunPhase, TaskPhase, type TaskSpec } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptedInitStep, acceptedLogUrl, logUrlProblem } from "../server/src/validation/run-report.js";
import { runCli } from "./helpers/cli.js";
import { fileGate } from "./helpers/gate.js";
import { call, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

// Run.log_url: a runner (its logUrl option, the CLI's --log-url) or an embedded handler (ctx.setLogUrl)
// links a run to logs kept elsewhere; the supervisor stores it and shows it in ListTaskRuns, `get` and `logs`.

let server: TestServer;
let cliRunner: RunnerProcess;
let sdkRunner: Runner;
const LOG_HOST = "https://logs.example";

beforeAll(async () => {
  server = await startTestServer();
  cliRunner = await startRunner(server.address, "log-url-cli", {
    labels: { pool: "log-cli" },
    args: ["--log-url", `${LOG_HOST}/{task_id}/{attempt}?run={run_id}`],
  });
  sdkRunner = new Runner({
    address: server.address,
    name: "log-url-sdk",
    labels: { pool: "log-sdk" },
    log: () => {},
    logUrl: (assign) =>
      assign.spec?.labels.start_url === "bad" ? "javascript:alert(1)" : `${LOG_HOST}/start/${assign.taskId}`,
  });
  sdkRunner.handle("links", (payload, ctx) => {
    if (typeof payload.url === "string") ctx.setLogUrl(payload.url);
    ctx.log("linked");
  });
  await sdkRunner.start();
});
afterAll(async () => {
  await sdkRunner?.stop();
  await cliRunner?.stop("SIGKILL");
  await server?.close();
});

const onPool = (pool: string) => ({ matchLabels: { pool }, matchExpressions: [] });
const submit = async (spec: TaskSpec) => (await call(rpc(server.tasks, "submitTask"), submitRequest(spec))).task!;
const runsOf = async (taskId: string): Promise<Run[]> =>
  (await call(rpc(server.tasks, "listTaskRuns"), { taskId, pageSize: 0, pageToken: "" })).runs;
const handlerTask = (payload: Record<string, unknown>, labels: Record<string, string> = {}): TaskSpec => ({
  ...subprocessSpec("unused", [], { runnerSelector: onPool("log-sdk"), labels }),
  exec: { $case: "embedded", value: { handler: "links", payload } },
});
const succeeded = async (spec: TaskSpec) => {
  const task = await submit(spec);
  expect((await waitForTask(server.tasks, task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  return task;
};

describe("log links", () => {
  it("the runner's template gives each run its link, shown by ListTaskRuns, `get` and `logs`", async () => {
    const task = await succeeded(subprocessSpec("echo", ["hello"], { runnerSelector: onPool("log-cli") }));
    const [run] = await runsOf(task.id);
    const expected = `${LOG_HOST}/${task.id}/1?run=${run!.id}`;
    expect(run!.logUrl).toBe(expected);

    const env = { SUPERVISOR_ADDR: server.address };
    const get = await runCli(["get", task.id], { env });
    expect(get.code).toBe(0);
    expect(get.stdout).toContain(`logs:\n  attempt 1: ${expected}\n`);

    const logs = await runCli(["logs", task.id], { env });
    expect(logs).toMatchObject({ code: 0, stdout: "hello\n" });
    expect(logs.stderr).toContain(`[logs of attempt 1 are also at ${expected}]`);
    const followed = await runCli(["logs", "--follow", task.id], { env });
    expect(followed).toMatchObject({ code: 0, stdout: "hello\n" });
    expect(followed.stderr).toContain(expected);
  });

  it("the link from the start is there while the run is still running", async () => {
    const gate = fileGate(server.dir, "running-link");
    const task = await submit(subprocessSpec("sh", ["-c", gate.wait], { runnerSelector: onPool("log-cli") }));
    try {
      const running = await waitUntil(async () => {
        const [run] = await runsOf(task.id);
        return run?.phase === RunPhase.RUN_PHASE_RUNNING ? run : undefined;
      }, "the run to be RUNNING");
      expect(running.logUrl).toBe(`${LOG_HOST}/${task.id}/1?run=${running.id}`);
    } finally {
      gate.open();
    }
    await waitForTask(server.tasks, task.id);
  });

  it("an embedded handler's ctx.setLogUrl replaces the runner's, sent with the end", async () => {
    const url = `${LOG_HOST}/handler/run-42#top`;
    const task = await succeeded(handlerTask({ url }));
    const [run] = await runsOf(task.id);
    expect(run!.logUrl).toBe(url);
  });

  it("without a call to setLogUrl the runner's link from the start stays", async () => {
    const task = await succeeded(handlerTask({}));
    const [run] = await runsOf(task.id);
    expect(run!.logUrl).toBe(`${LOG_HOST}/start/${task.id}`);
  });

  it("a bad log_url is dropped and the run goes on as if none was sent", async () => {
    const tooLong = `${LOG_HOST}/${"x".repeat(2048)}`;
    const long = await succeeded(handlerTask({ url: tooLong }));
    // The start's link was good and is kept; the end's, too long, is dropped.
    expect((await runsOf(long.id))[0]!.logUrl).toBe(`${LOG_HOST}/start/${long.id}`);
    const bad = await succeeded(handlerTask({}, { start_url: "bad" }));
    expect((await runsOf(bad.id))[0]!.logUrl).toBe("");
    const ftp = await succeeded(handlerTask({ url: "ftp://logs.example/x" }, { start_url: "bad" }));
    expect((await runsOf(ftp.id))[0]!.logUrl).toBe("");
  });
});

describe("which log URLs hold", () => {
  it.each([
    ["https://logs.example/a/b?c=d#e", undefined],
    ["http://127.0.0.1:8080/run", undefined],
    [`https://logs.example/${"x".repeat(2048 - 21)}`, undefined],
    [`https://logs.example/${"x".repeat(2048 - 20)}`, /longer than 2048/],
    ["javascript:alert(1)", /scheme javascript: is not http or https/],
    ["file:///etc/passwd", /scheme file:/],
    ["/relative/path", /not an absolute URL/],
    ["https://logs.example/a b", /whitespace or control/],
    ["https://logs.example/\nInjected: header", /whitespace or control/],
  ])("%s", (url, problem) => {
    if (problem) expect(logUrlProblem(url)).toMatch(problem);
    else expect(logUrlProblem(url)).toBeUndefined();
  });
});

describe("which failed_init_step values hold", () => {
  it.each([
    [undefined, undefined, false],
    [0, undefined, false],
    [1, 1, false],
    [16, 16, false],
    [17, undefined, true],
    [-1, undefined, true],
  ])("%s → %s", (reported, kept, logged) => {
    const lines: string[] = [];
    expect(acceptedInitStep(reported, "run-1", (line) => lines.push(line))).toBe(kept);
    expect(lines.length > 0).toBe(logged);
  });
});

it("a dropped log_url is said in the server's log, naming the run", () => {
  const lines: string[] = [];
  expect(acceptedLogUrl("ftp://x/y", "run-7", (line) => lines.push(line))).toBeUndefined();
  expect(lines).toEqual(["run run-7: dropped the log_url its runner reported: scheme ftp: is not http or https"]);
  expect(acceptedLogUrl("https://x/y", "run-7", (line) => lines.push(line))).toBe("https://x/y");
  expect(lines).toHaveLength(1);
});
