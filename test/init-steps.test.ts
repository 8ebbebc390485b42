import { existsSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  type Run,
  Runner,
  RunPhase,
  type StreamTaskOutputResponse,
  type SubprocessExec,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { fileGate } from "./helpers/gate.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { collect } from "./helpers/streams.js";

// Init steps (TaskSpec.init) run by a real `supervisor runner` process before the main program.

let server: TestServer;
let runner: RunnerProcess;
beforeAll(async () => {
  server = await startTestServer({ cancelGracePeriod: "1s" });
  runner = await startRunner(server.address, "init-runner", { labels: { pool: "init" }, capacity: 4 });
});
afterAll(async () => {
  await runner?.stop("SIGKILL");
  await server?.close();
});

const step = (command: string, args: string[] = [], more: Partial<SubprocessExec> = {}): SubprocessExec => ({
  command,
  args,
  env: {},
  workingDir: "",
  ...more,
});
const sh = (script: string, more: Partial<SubprocessExec> = {}) => step("sh", ["-c", script], more);
const withInit = (main: string, init: SubprocessExec[], overrides: Partial<TaskSpec> = {}) =>
  subprocessSpec("sh", ["-c", main], {
    init,
    runnerSelector: { matchLabels: { pool: "init" }, matchExpressions: [] },
    ...overrides,
  });
const submit = async (spec: TaskSpec) => (await call(rpc(server.tasks, "submitTask"), submitRequest(spec))).task!;
const runsOf = async (taskId: string): Promise<Run[]> =>
  (await call(rpc(server.tasks, "listTaskRuns"), { taskId, pageSize: 0, pageToken: "" })).runs;
const outputOf = async (taskId: string): Promise<string> => {
  const events = await collect(
    server.tasks.streamTaskOutput({ taskId, attempt: 0, follow: false, sinceSeq: 0 }),
    () => false,
  );
  return events.map((event) => (event.event?.$case === "chunk" ? event.event.value.data.toString() : "")).join("");
};

describe("init steps", () => {
  it("run in order before the main exec, framed by markers, with the environment and working dir of a subprocess", async () => {
    const task = await submit(
      withInit("echo main says hi", [
        sh('pwd; echo "one $STEP_VAR attempt=$SUPERVISOR_ATTEMPT"', {
          env: { STEP_VAR: "set" },
          workingDir: server.dir,
        }),
        sh("echo two on stderr >&2"),
      ]),
    );
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const output = await outputOf(task.id);
    const expected = [
      '--- init 1/2: sh -c "pwd; echo \\"one $STEP_VAR attempt=$SUPERVISOR_ATTEMPT\\"" ---\n',
      `${server.dir}\n`,
      "one set attempt=1\n",
      "--- init 1/2 exited with code 0 ---\n",
      '--- init 2/2: sh -c "echo two on stderr >&2" ---\n',
      "two on stderr\n",
      "--- init 2/2 exited with code 0 ---\n",
      "main says hi\n",
    ];
    expect(output).toBe(expected.join(""));
    const [run] = await runsOf(task.id);
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_SUCCEEDED, failedInitStep: 0, exitCode: 0 });
  });

  it("a step exiting non-zero ends the run FAILED with failed_init_step, reason INIT_FAILED, and the main never runs", async () => {
    const mainRan = join(server.dir, "main-ran-after-failure");
    const task = await submit(withInit(`touch '${mainRan}'`, [step("true"), sh("echo about to fail; exit 3")]));
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_FAILED,
      reason: TaskReason.INIT_FAILED,
      exitCode: 3,
    });
    expect(done.status!.message).toBe(
      'attempt 1 failed: init step 2 (sh -c "echo about to fail; exit 3") exited with code 3',
    );
    const [run] = await runsOf(task.id);
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_FAILED, failedInitStep: 2, exitCode: 3 });
    expect(run!.error).toMatch(/^init step 2 \(/);
    expect(await outputOf(task.id)).toContain("about to fail\n--- init 2/2 exited with code 3 ---\n");
    expect(existsSync(mainRan)).toBe(false);
  });

  it("a step that cannot start fails the run at that step", async () => {
    const task = await submit(withInit("echo main", [step("/nonexistent/no-such-program")]));
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.INIT_FAILED });
    const [run] = await runsOf(task.id);
    expect(run).toMatchObject({ failedInitStep: 1 });
    expect(run!.error).toMatch(/init step 1 \(\/nonexistent\/no-such-program\) failed: spawn .*ENOENT/);
    expect(await outputOf(task.id)).not.toContain("main");
  });

  it("a step still running at the attempt's deadline is killed and the run ends TIMEOUT", async () => {
    const gate = fileGate(server.dir, "never-opened"); // the step would wait 60 s: only the timeout ends it
    const mainRan = join(server.dir, "main-ran-after-timeout");
    const task = await submit(
      withInit(`touch '${mainRan}'`, [step("true"), sh(gate.wait)], { timeout: { seconds: 1, nanos: 0 } }),
    );
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_TIMEOUT, reason: TaskReason.ATTEMPT_TIMEOUT });
    const [run] = await runsOf(task.id);
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_TIMEOUT, failedInitStep: 2 });
    expect(await outputOf(task.id)).toContain("--- init 2/2 timed out ---\n");
    expect(existsSync(mainRan)).toBe(false);
  });

  it("a cancel during a step kills it and ends the run CANCELED", async () => {
    const gate = fileGate(server.dir, "cancel-never-opened");
    const mainRan = join(server.dir, "main-ran-after-cancel");
    const task = await submit(withInit(`touch '${mainRan}'`, [sh(`echo step waiting; ${gate.wait}`)]));
    // Wait until the step is under way (its first line is out), then cancel.
    const seen = await collect<StreamTaskOutputResponse>(
      server.tasks.streamTaskOutput({ taskId: task.id, attempt: 1, follow: true, sinceSeq: 0 }),
      (_, all) =>
        all.some(
          (event) => event.event?.$case === "chunk" && event.event.value.data.toString().includes("step waiting"),
        ),
    );
    expect(seen.length).toBeGreaterThan(0);
    await call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "stop the step" });
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_CANCELED, reason: TaskReason.CANCELED_BY_CLIENT });
    const [run] = await runsOf(task.id);
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_CANCELED, failedInitStep: 0 });
    expect(await outputOf(task.id)).toContain("--- init 1/1 was canceled ---\n");
    expect(existsSync(mainRan)).toBe(false);
  });

  it("apply to every kind: an embedded handler runs after its steps, and not after a failed one", async () => {
    const sdkRunner = new Runner({
      address: server.address,
      name: "init-embedded",
      labels: { pool: "init-embedded" },
      log: () => {},
    });
    let calls = 0;
    sdkRunner.handle("after-init", (_, ctx) => {
      calls++;
      ctx.log("handler ran");
      return { ok: true };
    });
    await sdkRunner.start();
    try {
      const spec = (init: SubprocessExec[]): TaskSpec => ({
        ...subprocessSpec("unused", [], {
          init,
          runnerSelector: { matchLabels: { pool: "init-embedded" }, matchExpressions: [] },
        }),
        exec: { $case: "embedded", value: { handler: "after-init", payload: {} } },
      });
      const ok = await submit(spec([sh("echo prepared")]));
      expect((await waitForTask(server.tasks, ok.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      expect(await outputOf(ok.id)).toBe(
        '--- init 1/1: sh -c "echo prepared" ---\nprepared\n--- init 1/1 exited with code 0 ---\nhandler ran\n',
      );
      const failed = await submit(spec([step("false")]));
      const done = await waitForTask(server.tasks, failed.id);
      expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.INIT_FAILED });
      expect(calls).toBe(1);
    } finally {
      await sdkRunner.stop();
    }
  });
});

describe("routing of tasks with init steps", () => {
  it("waits for a runner that also runs subprocesses, naming the missing kind; never fails on one without", async () => {
    const labels = { pool: "init-routing" };
    const embeddedOnly = new Runner({ address: server.address, name: "init-no-sub", labels, kinds: ["embedded:*"] });
    embeddedOnly.handle("routed", () => ({ ok: true }));
    await embeddedOnly.start();
    const both = new Runner({ address: server.address, name: "init-with-sub", labels, log: () => {} });
    both.handle("routed", () => ({ ok: true }));
    try {
      const task = await submit({
        ...subprocessSpec("unused", [], {
          init: [sh("true")],
          runnerSelector: { matchLabels: labels, matchExpressions: [] },
        }),
        exec: { $case: "embedded", value: { handler: "routed", payload: {} } },
      });
      const waiting = await waitForTask(server.tasks, task.id, (t) => t.status!.message.includes("init-no-sub"));
      expect(waiting.status).toMatchObject({
        phase: TaskPhase.TASK_PHASE_PENDING,
        reason: TaskReason.NO_MATCHING_RUNNER,
        message:
          "no connected runner matches; the closest, init-no-sub, fails kind subprocess, for its init steps " +
          "(it runs embedded:*)",
      });
      await both.start();
      const done = await waitForTask(server.tasks, task.id);
      expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      expect((await runsOf(task.id)).map((run) => run.runnerName)).toEqual(["init-with-sub"]);
    } finally {
      await Promise.all([embeddedOnly.stop(), both.stop()]);
    }
  });
});

describe("supervisor submit --init", () => {
  it("takes steps as whitespace-split words or a JSON argv array, in order, with the task's --env", async () => {
    const submitted = await runCli(
      [
        "submit",
        "--selector",
        "pool=init",
        "--env",
        "GREETING=hi",
        "--init",
        "echo first step",
        "--init",
        '["sh", "-c", "echo second: $GREETING"]',
        "--wait",
        "--",
        "echo",
        "main",
      ],
      { env: { SUPERVISOR_ADDR: server.address } },
    );
    expect(submitted.stdout).toBe(
      [
        "--- init 1/2: echo first step ---",
        "first step",
        "--- init 1/2 exited with code 0 ---",
        '--- init 2/2: sh -c "echo second: $GREETING" ---',
        "second: hi",
        "--- init 2/2 exited with code 0 ---",
        "main",
        "",
      ].join("\n"),
    );
    expect(submitted.code).toBe(0);
  });

  it("a failing step makes --wait exit with its code", async () => {
    const submitted = await runCli(
      ["submit", "--selector", "pool=init", "--init", '["sh", "-c", "exit 7"]', "--wait", "--", "echo", "main"],
      { env: { SUPERVISOR_ADDR: server.address } },
    );
    expect(submitted.code).toBe(7);
    expect(submitted.stdout).not.toContain("main\n");
  });

  it.each([
    ["an empty step", "  "],
    ["JSON that is not an argv", '["sh", 3]'],
    ["broken JSON", '["sh"'],
  ])("%s is a usage error (exit 2)", async (_, value) => {
    const submitted = await runCli(["submit", "--init", value, "--", "true"], {
      env: { SUPERVISOR_ADDR: server.address },
    });
    expect(submitted.code).toBe(2);
    expect(submitted.stderr).toContain("--init");
  });
});

describe("validation of init", () => {
  const refused = async (init: SubprocessExec[], field: string, description: RegExp) => {
    const error = await expectError(
      call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true", [], { init }))),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    const violation = error.fieldViolations.find((v) => v.field === field);
    expect(violation, `violations: ${JSON.stringify(error.fieldViolations)}`).toBeDefined();
    expect(violation!.description).toMatch(description);
  };

  it("a step without a command: spec.init[i].command", () =>
    refused([step("true"), step("")], "spec.init[1].command", /required/));
  it("too many arguments: spec.init[i].args", () =>
    refused(
      [
        step(
          "echo",
          Array.from({ length: 1025 }, () => "x"),
        ),
      ],
      "spec.init[0].args",
      /at most/,
    ));
  it("a bad environment name: spec.init[i].env", () =>
    refused([step("true", [], { env: { "BAD=NAME": "x" } })], "spec.init[0].env", /./));
  it("a working dir past the bound: spec.init[i].working_dir", () =>
    refused([step("true", [], { workingDir: "/".repeat(5000) })], "spec.init[0].working_dir", /at most/));
  it("more than 16 steps: spec.init", () =>
    refused(
      Array.from({ length: 17 }, () => step("true")),
      "spec.init",
      /at most 16 init steps/,
    ));
  it("16 steps are fine", async () => {
    const task = await submit(subprocessSpec("true", [], { init: Array.from({ length: 16 }, () => step("true")) }));
    expect(task.spec!.init).toHaveLength(16);
    await call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "" }).catch(() => undefined);
  });
});
