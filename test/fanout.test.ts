import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import {
  EventType,
  Placement,
  RestartPolicy,
  Schedule,
  ScheduleServiceClient,
  type Task,
  TaskFilter,
  TaskPhase,
  TaskReason,
  type TaskSpec,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { collect } from "./helpers/streams.js";
import { waitUntil } from "./helpers/wait.js";

// Fan-out over real runner processes: one child per matching runner, pinned to it; the parent counts its
// children and ends by them; cancel cascades; a window lets later runners in; pinned tasks never move.

let server: TestServer;
let runners: RunnerProcess[] = [];
let scratch: string;

beforeAll(async () => {
  server = await startTestServer({ leaseTtl: "2s", heartbeatInterval: "500ms", minRestartDelay: "0ms" });
  scratch = mkdtempSync(join(tmpdir(), "fanout-"));
});
afterEach(async () => {
  await Promise.all(runners.map((runner) => runner.stop()));
  runners = [];
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

const submit = (spec: TaskSpec, requestId = "") =>
  call(rpc(server.tasks, "submitTask"), submitRequest(spec, requestId)).then((r) => r.task!);

const fanOut = (command: string, pool: string, overrides: Partial<TaskSpec> = {}) =>
  subprocessSpec("sh", ["-c", command], {
    placement: Placement.PLACEMENT_EACH_MATCHING_RUNNER,
    runnerSelector: { matchLabels: { pool }, matchExpressions: [] },
    ...overrides,
  });

async function children(parentId: string): Promise<Task[]> {
  const { tasks } = await call(rpc(server.tasks, "listTasks"), {
    pageSize: 100,
    pageToken: "",
    filter: TaskFilter.fromPartial({ parentId }),
  });
  return tasks;
}

/** Three runners: two in `pool`, one elsewhere. */
async function threeRunners(pool: string): Promise<RunnerProcess[]> {
  runners = await Promise.all([
    startRunner(server.address, `${pool}-a`, { labels: { pool } }),
    startRunner(server.address, `${pool}-b`, { labels: { pool } }),
    startRunner(server.address, `${pool}-other`, { labels: { pool: "other" } }),
  ]);
  return runners;
}

const ended = (task: Task) =>
  task.status!.phase !== TaskPhase.TASK_PHASE_PENDING && task.status!.phase !== TaskPhase.TASK_PHASE_RUNNING;

describe("fan-out to every matching runner", () => {
  it("makes one child per matching runner, pinned to it, and succeeds when they all succeed", async () => {
    const [a, b] = await threeRunners("build");
    const parent = await submit(fanOut("echo hi", "build", { labels: { app: "ci" } }), "fan-1");
    expect(parent.status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    expect(parent.status!.fanOut).toMatchObject({ children: 2, pending: 2 });
    const kids = await children(parent.id);
    expect(kids.map((kid) => kid.spec!.pinnedRunnerId).sort()).toEqual([a!.id, b!.id].sort());
    for (const kid of kids) {
      expect(kid.parentId).toBe(parent.id);
      expect(kid.spec!.placement).toBe(Placement.PLACEMENT_ANY);
      expect(kid.spec!.labels).toEqual({ app: "ci", "supervisor.dev/parent": parent.id });
    }
    const done = await waitForTask(server.tasks, parent.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(done.status!.fanOut).toEqual({ children: 2, pending: 0, running: 0, succeeded: 2, failed: 0, canceled: 0 });
    // Each child ran on its own runner.
    for (const kid of await children(parent.id)) {
      expect(kid.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      expect(kid.status!.runnerId).toBe(kid.spec!.pinnedRunnerId);
    }
    // A retried submit stores nothing twice.
    const again = await submit(fanOut("echo hi", "build", { labels: { app: "ci" } }), "fan-1");
    expect(again.id).toBe(parent.id);
    expect(await children(parent.id)).toHaveLength(2);
  });

  it("one child failing fails the parent; with max_failed 1 the parent succeeds", async () => {
    await threeRunners("flaky");
    // mkdir is atomic: exactly one of the two children creates the directory, the other fails.
    const once = (name: string) => `mkdir ${join(scratch, name)}`;
    const strict = await submit(fanOut(once("strict"), "flaky"));
    const tolerant = await submit(fanOut(once("tolerant"), "flaky", { maxFailed: 1 }));
    const strictDone = await waitForTask(server.tasks, strict.id);
    expect(strictDone.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.CHILDREN_FAILED });
    expect(strictDone.status!.fanOut).toMatchObject({ children: 2, succeeded: 1, failed: 1 });
    const tolerantDone = await waitForTask(server.tasks, tolerant.id);
    expect(tolerantDone.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(tolerantDone.status!.fanOut).toMatchObject({ children: 2, succeeded: 1, failed: 1 });
  });

  it("canceling the parent cancels every child, and the parent ends CANCELED after them", async () => {
    await threeRunners("long");
    const parent = await submit(fanOut("sleep 30", "long"));
    await waitForTask(server.tasks, parent.id, (t) => t.status!.fanOut!.running === 2);
    const { task } = await call(rpc(server.tasks, "cancelTask"), { id: parent.id, reason: "enough" });
    expect(task!.status!.cancelRequested).toBe(true);
    const done = await waitForTask(server.tasks, parent.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    expect(done.status!.fanOut).toMatchObject({ children: 2, canceled: 2, failed: 0 });
    for (const kid of await children(parent.id)) {
      expect(kid.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_CANCELED, reason: TaskReason.PARENT_CANCELED });
    }
  });

  it("without a matching runner the parent fails at once, NO_MATCHING_RUNNER", async () => {
    const parent = await submit(fanOut("true", "nobody-here"));
    expect(parent.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.NO_MATCHING_RUNNER });
    expect(parent.status!.fanOut!.children).toBe(0);
    expect(await children(parent.id)).toEqual([]);
  });

  it("a runner joining within fan_out_window gets its child; one joining after the window does not", async () => {
    runners.push(await startRunner(server.address, "win-a", { labels: { pool: "win" } }));
    const parent = await submit(fanOut("true", "win", { fanOutWindow: { seconds: 6, nanos: 0 } }));
    expect(parent.status!.fanOut!.children).toBe(1);
    const late = await startRunner(server.address, "win-b", { labels: { pool: "win" } });
    runners.push(late);
    const two = await waitForTask(server.tasks, parent.id, (t) => t.status!.fanOut!.children === 2);
    expect(two.status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    // It ends once the window is over, not when its children have.
    const done = await waitForTask(server.tasks, parent.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(done.status!.finishTime!.getTime()).toBeGreaterThanOrEqual(parent.createTime!.getTime() + 6_000);
    const after = await startRunner(server.address, "win-c", { labels: { pool: "win" } });
    runners.push(after);
    // The latecomer runs other work (so it was offered whatever there was), and still no third child.
    const probe = await submit(subprocessSpec("true", [], { pinnedRunnerId: after.id }));
    expect((await waitForTask(server.tasks, probe.id)).status!.runnerId).toBe(after.id);
    const kids = await children(parent.id);
    expect(kids.map((kid) => kid.spec!.pinnedRunnerId).sort()).toEqual([runners[0]!.id, late.id].sort());
  });

  it("with a window and no runner yet, the parent waits PENDING and fails NO_MATCHING_RUNNER when it ends", async () => {
    const parent = await submit(fanOut("true", "never", { fanOutWindow: { seconds: 1, nanos: 0 } }));
    expect(parent.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, reason: TaskReason.NO_MATCHING_RUNNER });
    const done = await waitForTask(server.tasks, parent.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.NO_MATCHING_RUNNER });
  });

  it("list and watch by parent_id see exactly the parent's children", async () => {
    await threeRunners("watched");
    const { revision } = await call(rpc(server.tasks, "listTasks"), { pageSize: 1, pageToken: "", filter: undefined });
    const other = await submit(fanOut("true", "watched"));
    const parent = await submit(fanOut("true", "watched"));
    await waitForTask(server.tasks, parent.id);
    await waitForTask(server.tasks, other.id);
    const kids = await children(parent.id);
    expect(kids).toHaveLength(2);
    expect(kids.every((kid) => kid.parentId === parent.id)).toBe(true);
    const filter = TaskFilter.fromPartial({ parentId: parent.id });
    const succeeded = (all: WatchTasksResponse[]) =>
      all.filter((e) => e.task?.status?.phase === TaskPhase.TASK_PHASE_SUCCEEDED).length === 2;
    const events = await collect(
      server.tasks.watchTasks({ sinceRevision: revision, sendInitial: false, filter }),
      (_, all) => succeeded(all),
    );
    const seen = events.filter((e) => e.type !== EventType.EVENT_TYPE_BOOKMARK);
    expect(seen[0]!.type).toBe(EventType.EVENT_TYPE_ADDED);
    expect(seen.every((e) => e.task!.parentId === parent.id)).toBe(true);
    expect(new Set(seen.map((e) => e.task!.id))).toEqual(new Set(kids.map((kid) => kid.id)));
  });
});

describe("the CLI", () => {
  it("submit --each-runner fans out; get shows the per-runner table; list --parent lists the children", async () => {
    await threeRunners("cli");
    const env = { SUPERVISOR_ADDR: server.address };
    const submitted = await runCli(
      ["submit", "--each-runner", "--max-failed", "0", "--selector", "pool=cli", "--", "echo", "hi"],
      {
        env,
      },
    );
    expect(submitted.stderr).toBe("");
    const id = submitted.stdout.trim();
    await waitForTask(server.tasks, id);
    const shown = await runCli(["get", id], { env });
    expect(shown.stdout).toContain("fan-out:   2 children: 2 succeeded");
    const lines = shown.stdout.split("\n");
    const header = lines.findIndex((line) => line.startsWith("RUNNER"));
    expect(lines[header]).toMatch(/^RUNNER\s+PHASE\s+EXIT\s+OUTPUT\s+TASK$/);
    // One line per matching runner: its name, SUCCEEDED, exit code 0 and the 3 bytes "hi\n".
    expect(lines.slice(header + 1, header + 3).map((line) => line.split(/\s+/).slice(0, 4))).toEqual([
      ["cli-a", "SUCCEEDED", "0", "3"],
      ["cli-b", "SUCCEEDED", "0", "3"],
    ]);
    const listed = await runCli(["list", "--parent", id], { env });
    const rows = listed.stdout.trim().split("\n").slice(1);
    expect(rows.map((row) => row.split(/\s+/)[0]).sort()).toEqual((await children(id)).map((kid) => kid.id).sort());
    const usage = await runCli(["submit", "--max-failed", "1", "--", "true"], { env });
    expect(usage.stderr).toContain("--max-failed needs --each-runner");
    // --wait: every child's output, each line tagged with its runner, then the parent's end.
    const waited = await runCli(
      ["submit", "--each-runner", "--selector", "pool=cli", "--wait", "--", "sh", "-c", "echo one; echo two"],
      { env },
    );
    expect(waited.stderr).toMatch(/SUCCEEDED: 2 children/);
    expect(waited.code).toBe(0);
    expect(waited.stdout.trim().split("\n")).toEqual(["[cli-a] one", "[cli-a] two", "[cli-b] one", "[cli-b] two"]);
    expect(waited.stderr).toMatch(/SUCCEEDED: 2 children/);
    const failing = await runCli(["submit", "--each-runner", "--selector", "pool=cli", "--wait", "--", "false"], {
      env,
    });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/FAILED: 2 children/);
  });
});

describe("pinned tasks", () => {
  it("run only on their runner; when it is gone for good the task ends by its restart policy, never elsewhere", async () => {
    const pinnedTo = await startRunner(server.address, "pin-a", { labels: { pool: "pin" } });
    const bystander = await startRunner(server.address, "pin-b", { labels: { pool: "pin" } });
    runners.push(bystander);
    const retried = await submit(
      subprocessSpec("sleep", ["30"], {
        pinnedRunnerId: pinnedTo.id,
        restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
        maxAttempts: 2,
      }),
    );
    const once = await submit(subprocessSpec("sleep", ["30"], { pinnedRunnerId: pinnedTo.id }));
    await waitForTask(server.tasks, retried.id, (t) => t.status!.phase === TaskPhase.TASK_PHASE_RUNNING);
    await waitForTask(server.tasks, once.id, (t) => t.status!.phase === TaskPhase.TASK_PHASE_RUNNING);
    await pinnedTo.stop("SIGKILL");
    const lost = await waitForTask(server.tasks, once.id, ended);
    expect(lost.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.RUNNER_LOST });
    // The retry waits for its runner, and says so; the other runner stays idle.
    const waiting = await waitForTask(
      server.tasks,
      retried.id,
      (t) => t.status!.phase === TaskPhase.TASK_PHASE_PENDING && t.status!.message.includes(pinnedTo.id),
    );
    expect(waiting.status!.attempt).toBe(1);
    const { runs } = await call(rpc(server.tasks, "listTaskRuns"), { taskId: retried.id, pageSize: 10, pageToken: "" });
    expect(runs.map((run) => run.runnerId)).toEqual([pinnedTo.id]);
    // Deleted, the runner is gone for good: the retry can never run, so it ends, still never elsewhere.
    await call(rpc(server.runners, "deleteRunner"), { runnerId: pinnedTo.id });
    const gone = await waitForTask(server.tasks, retried.id, ended);
    expect(gone.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_EXHAUSTED, reason: TaskReason.RUNNER_LOST });
    expect(gone.status!.message).toContain("which was deleted");
    const after = await call(rpc(server.tasks, "listTaskRuns"), { taskId: retried.id, pageSize: 10, pageToken: "" });
    expect(after.runs.map((run) => run.runnerId)).toEqual([pinnedTo.id]);
  });

  it("a pinned task that never ran, whose runner is deleted, ends FAILED RUNNER_LOST", async () => {
    const gone = await startRunner(server.address, "pin-gone", { labels: { pool: "gone" } });
    await gone.stop("SIGKILL");
    // Pinned to a disconnected runner: it waits, and its reason names the runner.
    const waiting = await submit(subprocessSpec("true", [], { pinnedRunnerId: gone.id }));
    await waitForTask(server.tasks, waiting.id, (t) => t.status!.message.includes(gone.id));
    await waitUntil(
      () =>
        call(rpc(server.runners, "deleteRunner"), { runnerId: gone.id }).then(
          () => true,
          () => false, // still within its lease: RUNNER_CONNECTED until it runs out
        ),
      "the killed runner's lease to run out",
    );
    const failed = await waitForTask(server.tasks, waiting.id, ended);
    expect(failed.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.RUNNER_LOST });
    expect(failed.status!.attempt).toBe(0);
  });
});

describe("scheduled fan-out", () => {
  it("a schedule whose template fans out fires a parent with its children", async () => {
    const [a, b] = await threeRunners("nightly");
    const schedules = new ScheduleServiceClient(server.address, credentials.createInsecure());
    try {
      await call(rpc(schedules, "createSchedule"), {
        schedule: { ...Schedule.fromPartial({ id: "every-build-host" }), task: fanOut("true", "nightly") },
      });
      const { task } = await call(rpc(schedules, "triggerSchedule"), { id: "every-build-host", requestId: "n-1" });
      const done = await waitForTask(server.tasks, task!.id);
      expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      const kids = await children(task!.id);
      expect(kids.map((kid) => kid.status!.runnerId).sort()).toEqual([a!.id, b!.id].sort());
    } finally {
      schedules.close();
    }
  });
});
