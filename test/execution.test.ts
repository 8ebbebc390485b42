import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  EventType,
  Jitter,
  RestartPolicy,
  type RunnerSelector,
  RunPhase,
  SelectorOperator,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileGate } from "./helpers/gate.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";

let server: TestServer;
const runners: RunnerProcess[] = [];
beforeAll(async () => {
  // No floor under restart delays here: these tests check the backoff's own bounds (40-100 ms).
  server = await startTestServer({
    heartbeatInterval: "200ms",
    leaseTtl: "1s",
    cancelGracePeriod: "1s",
    minRestartDelay: "0ms",
  });
});
afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop("SIGKILL")));
  await server?.close();
});

const submit = async (spec: TaskSpec) => (await call(rpc(server.tasks, "submitTask"), submitRequest(spec))).task!;
const runsOf = async (id: string) =>
  (await call(rpc(server.tasks, "listTaskRuns"), { taskId: id, pageSize: 0, pageToken: "" })).runs;
const selector = (partial: Partial<RunnerSelector>): RunnerSelector => ({
  matchLabels: {},
  matchExpressions: [],
  ...partial,
});
const runner = async (name: string, labels: Record<string, string>, capacity = 2) => {
  const process = await startRunner(server.address, name, { labels, capacity });
  runners.push(process);
  return process;
};

describe("routing", () => {
  let eu: RunnerProcess;
  let us: RunnerProcess;
  beforeAll(async () => {
    eu = await runner("route-eu", { pool: "route", region: "eu", gpu: "true" });
    us = await runner("route-us", { pool: "route", region: "us" });
  });

  it.each([
    ["match_labels region=eu", "eu", selector({ matchLabels: { pool: "route", region: "eu" } })],
    [
      "IN (us, ap)",
      "us",
      selector({
        matchLabels: { pool: "route" },
        matchExpressions: [{ key: "region", operator: SelectorOperator.SELECTOR_OPERATOR_IN, values: ["us", "ap"] }],
      }),
    ],
    [
      "NOT_IN (eu)",
      "us",
      selector({
        matchLabels: { pool: "route" },
        matchExpressions: [{ key: "region", operator: SelectorOperator.SELECTOR_OPERATOR_NOT_IN, values: ["eu"] }],
      }),
    ],
    [
      "EXISTS gpu",
      "eu",
      selector({
        matchLabels: { pool: "route" },
        matchExpressions: [{ key: "gpu", operator: SelectorOperator.SELECTOR_OPERATOR_EXISTS, values: [] }],
      }),
    ],
    [
      "DOES_NOT_EXIST gpu",
      "us",
      selector({
        matchLabels: { pool: "route" },
        matchExpressions: [{ key: "gpu", operator: SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST, values: [] }],
      }),
    ],
  ])("%s runs on the %s runner", async (_, expected, runnerSelector) => {
    const task = await submit(subprocessSpec("true", [], { runnerSelector }));
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(done.status!.runnerId).toBe(expected === "eu" ? eu.id : us.id);
  });

  it("a task waits (NO_MATCHING_RUNNER) until a matching runner connects, then runs", async () => {
    const task = await submit(
      subprocessSpec("true", [], { runnerSelector: selector({ matchLabels: { zone: "late" } }) }),
    );
    const waiting = await waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.NO_MATCHING_RUNNER);
    expect(waiting.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    const late = await runner("late-runner", { zone: "late" });
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, runnerId: late.id });
  });
});

describe("why a task waits", () => {
  it("says RUNNERS_BUSY while every matching runner is full, and NO_MATCHING_RUNNER once none is left", async () => {
    const busy = await runner("busy-runner", { pool: "busy" }, 1);
    const spec = (seconds: string) =>
      subprocessSpec("sleep", [seconds], { runnerSelector: selector({ matchLabels: { pool: "busy" } }) });
    const first = await submit(spec("30"));
    await waitForTask(server.tasks, first.id, (t) => t.status!.reason === TaskReason.STARTED);
    const second = await submit(spec("0"));
    const waiting = await waitForTask(server.tasks, second.id, (t) => t.status!.reason === TaskReason.RUNNERS_BUSY);
    expect(waiting.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      message: "the one matching runner is at capacity or draining",
    });
    await busy.stop("SIGKILL"); // the lease (1 s here) runs out: no matching runner is left
    const alone = await waitForTask(server.tasks, second.id, (t) => t.status!.reason === TaskReason.NO_MATCHING_RUNNER);
    expect(alone.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await call(rpc(server.tasks, "cancelTask"), { id: second.id, reason: "" });
  });
});

describe("capacity and order", () => {
  it("a burst of 200 tasks on 2 runners never runs more than their capacity", async () => {
    const a = await runner("burst-a", { pool: "burst" }, 3);
    const b = await runner("burst-b", { pool: "burst" }, 3);
    const watch = messages(
      server.tasks.watchTasks({
        sinceRevision: 0,
        sendInitial: false,
        filter: { slot: "", phases: [], runnerId: "", idPrefix: "", labelSelector: "job=burst", parentId: "" },
      }),
    );
    await watch.next(); // live
    const spec = subprocessSpec("sleep", ["0.02"], {
      labels: { job: "burst" },
      runnerSelector: selector({ matchLabels: { pool: "burst" } }),
    });
    const { tasks } = await call(rpc(server.tasks, "batchSubmitTasks"), {
      requests: Array.from({ length: 200 }, () => submitRequest(spec)),
      returnPartialSuccess: false,
    });
    const running = new Map<string, Set<string>>([
      [a.id, new Set()],
      [b.id, new Set()],
    ]);
    const peak = new Map<string, number>([
      [a.id, 0],
      [b.id, 0],
    ]);
    let finished = 0;
    for await (const event of watch) {
      if (event.type === EventType.EVENT_TYPE_BOOKMARK) continue;
      const task = event.task!;
      for (const set of running.values()) set.delete(task.id);
      if (task.status!.phase === TaskPhase.TASK_PHASE_RUNNING) {
        const set = running.get(task.status!.runnerId)!;
        set.add(task.id);
        peak.set(task.status!.runnerId, Math.max(peak.get(task.status!.runnerId)!, set.size));
      }
      if (task.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED) finished++;
      if (finished === tasks.length) break;
    }
    await watch.return(undefined);
    expect(peak.get(a.id)).toBeLessThanOrEqual(3);
    expect(peak.get(b.id)).toBeLessThanOrEqual(3);
    expect(peak.get(a.id)! + peak.get(b.id)!).toBeGreaterThan(2); // both were used, in parallel
  });

  it("higher priority runs first", async () => {
    await runner("prio", { pool: "prio" }, 1);
    const where = { runnerSelector: selector({ matchLabels: { pool: "prio" } }) };
    // The blocker holds the only place until all three wait behind it.
    const allQueued = fileGate(server.dir, "prio-queued");
    const blocker = await submit(subprocessSpec("sh", ["-c", allQueued.wait], where));
    await waitForTask(server.tasks, blocker.id, (t) => t.status!.phase === TaskPhase.TASK_PHASE_RUNNING);
    const low = await submit(subprocessSpec("true", [], { ...where, priority: 1 }));
    const high = await submit(subprocessSpec("true", [], { ...where, priority: 5 }));
    const mid = await submit(subprocessSpec("true", [], { ...where, priority: 3 }));
    allQueued.open();
    const done = await Promise.all([high, mid, low].map((t) => waitForTask(server.tasks, t.id)));
    const started = await Promise.all(done.map(async (t) => (await runsOf(t.id))[0]!.assignTime!.getTime()));
    expect(started[0]).toBeLessThanOrEqual(started[1]!);
    expect(started[1]).toBeLessThanOrEqual(started[2]!);
  });
});

describe("attempts", () => {
  let where: Partial<TaskSpec>;
  beforeAll(async () => {
    await runner("attempts", { pool: "attempts" }, 4);
    where = { runnerSelector: selector({ matchLabels: { pool: "attempts" } }) };
  });

  it("exit code 0 → SUCCEEDED, exit code 1 → FAILED, with the code recorded", async () => {
    const ok = await waitForTask(server.tasks, (await submit(subprocessSpec("sh", ["-c", "exit 0"], where))).id);
    const bad = await waitForTask(server.tasks, (await submit(subprocessSpec("sh", ["-c", "exit 1"], where))).id);
    expect(ok.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, exitCode: 0 });
    expect(bad.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_FAILED,
      exitCode: 1,
      reason: TaskReason.ATTEMPT_FAILED,
    });
    expect((await runsOf(bad.id))[0]).toMatchObject({ phase: RunPhase.RUN_PHASE_FAILED, exitCode: 1 });
  });

  it("cancel of a task that already succeeded is FAILED_PRECONDITION / TASK_TERMINAL", async () => {
    const task = await waitForTask(server.tasks, (await submit(subprocessSpec("true", [], where))).id);
    const error = await expectError(
      call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "" }),
      status.FAILED_PRECONDITION,
      ErrorReason.TASK_TERMINAL,
    );
    expect(error.metadata).toEqual({ task_id: task.id, phase: "TASK_PHASE_SUCCEEDED" });
  });

  it("a command that does not exist fails with the spawn error", async () => {
    const task = await waitForTask(server.tasks, (await submit(subprocessSpec("/no/such/program", [], where))).id);
    expect(task.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    expect((await runsOf(task.id))[0]!.error).toContain("ENOENT");
  });

  it("a task sleeping past its timeout is killed: run and task TIMEOUT", async () => {
    const task = await submit(
      subprocessSpec("sleep", ["30"], { ...where, timeout: { seconds: 0, nanos: 500_000_000 } }),
    );
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_TIMEOUT, reason: TaskReason.ATTEMPT_TIMEOUT });
    expect((await runsOf(task.id))[0]!.phase).toBe(RunPhase.RUN_PHASE_TIMEOUT);
  });

  /** Submits a failing ON_FAILURE task and collects the retry delays the server chose (next_attempt_time - update_time). */
  async function retryDelays(spec: TaskSpec): Promise<{ delays: number[]; last: Task }> {
    const watch = messages(server.tasks.watchTasks({ sinceRevision: 0, sendInitial: false, filter: undefined }));
    await watch.next();
    const task = await submit(spec);
    const delays: number[] = [];
    for await (const event of watch) {
      if (event.task?.id !== task.id) continue;
      const status = event.task.status!;
      if (status.phase === TaskPhase.TASK_PHASE_PENDING && status.nextAttemptTime)
        delays.push(status.nextAttemptTime.getTime() - event.task.updateTime!.getTime());
      if (status.phase === TaskPhase.TASK_PHASE_EXHAUSTED) {
        await watch.return(undefined);
        return { delays, last: event.task };
      }
    }
    throw new Error("the watch ended before the task was exhausted");
  }

  it("ON_FAILURE retries with backoff delays inside their bounds, then EXHAUSTED", async () => {
    const backoff = {
      initialDelay: { seconds: 0, nanos: 100_000_000 },
      maxDelay: { seconds: 0, nanos: 300_000_000 },
      multiplier: 2,
      jitter: Jitter.JITTER_NONE,
    };
    const { delays, last } = await retryDelays(
      subprocessSpec("false", [], {
        ...where,
        restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
        maxAttempts: 4,
        backoff,
      }),
    );
    const task = last;
    expect(delays).toEqual([100, 200, 300]); // ×2 each time, capped at max_delay; no jitter
    expect(last!.status).toMatchObject({ attempt: 4, reason: TaskReason.ATTEMPTS_EXHAUSTED, exitCode: 1 });
    expect((await runsOf(task.id)).map((r) => r.phase)).toEqual(Array(4).fill(RunPhase.RUN_PHASE_FAILED));
  });

  it.each([
    [Jitter.JITTER_FULL, (base: number) => [0, base]],
    [Jitter.JITTER_EQUAL, (base: number) => [base / 2, base]],
  ])("jitter mode %i keeps every delay within its bounds", async (jitter, bounds) => {
    const backoff = {
      initialDelay: { seconds: 0, nanos: 40_000_000 },
      maxDelay: { seconds: 0, nanos: 100_000_000 },
      multiplier: 2,
      jitter,
    };
    const { delays } = await retryDelays(
      subprocessSpec("false", [], {
        ...where,
        restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
        maxAttempts: 5,
        backoff,
      }),
    );
    expect(delays).toHaveLength(4);
    delays.forEach((delay, i) => {
      const [low, high] = bounds(Math.min(100, 40 * 2 ** i));
      expect(delay, `delay ${i + 1}`).toBeGreaterThanOrEqual(Math.floor(low!));
      expect(delay, `delay ${i + 1}`).toBeLessThanOrEqual(high!);
    });
  });

  it("ALWAYS restarts after success until max_attempts", async () => {
    const backoff = {
      initialDelay: { seconds: 0, nanos: 10_000_000 },
      maxDelay: { seconds: 0, nanos: 10_000_000 },
      multiplier: 1,
      jitter: Jitter.JITTER_NONE,
    };
    const task = await submit(
      subprocessSpec("true", [], { ...where, restart: RestartPolicy.RESTART_POLICY_ALWAYS, maxAttempts: 3, backoff }),
    );
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 3 });
  });

  it("cancel of a running sleep 60 kills it and ends the task CANCELED", async () => {
    const task = await submit(subprocessSpec("sleep", ["60"], where));
    await waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.STARTED);
    const { task: requested } = await call(rpc(server.tasks, "cancelTask"), { id: task.id, reason: "stop it" });
    expect(requested!.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_RUNNING, cancelRequested: true });
    const done = await waitForTask(server.tasks, task.id, undefined, 5_000); // grace period is 1 s
    expect(done.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_CANCELED,
      message: expect.stringContaining("canceled"),
    });
    expect((await runsOf(task.id))[0]!.phase).toBe(RunPhase.RUN_PHASE_CANCELED);
  });
});

describe("runner failure", () => {
  it("a runner killed with SIGKILL: its run is LOST and retried on another runner", async () => {
    const first = await runner("doomed", { pool: "failover" }, 1);
    // The first attempt runs until its runner is gone; the retry (and the orphaned first) then end at once.
    const runnerGone = fileGate(server.dir, "failover");
    const spec = subprocessSpec("sh", ["-c", runnerGone.wait], {
      runnerSelector: selector({ matchLabels: { pool: "failover" } }),
      restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
      backoff: {
        initialDelay: { seconds: 0, nanos: 50_000_000 },
        maxDelay: { seconds: 0, nanos: 50_000_000 },
        multiplier: 1,
        jitter: Jitter.JITTER_NONE,
      },
    });
    const task = await submit(spec);
    await waitForTask(
      server.tasks,
      task.id,
      (t) => t.status!.reason === TaskReason.STARTED && t.status!.runnerId === first.id,
    );
    await first.stop("SIGKILL");
    runnerGone.open();
    const second = await runner("survivor", { pool: "failover" }, 1);
    const done = await waitForTask(server.tasks, task.id);
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, runnerId: second.id, attempt: 2 });
    const runs = await runsOf(task.id);
    expect(runs.map((r) => [r.runnerId, r.phase])).toEqual([
      [first.id, RunPhase.RUN_PHASE_LOST],
      [second.id, RunPhase.RUN_PHASE_SUCCEEDED],
    ]);
  });
});
