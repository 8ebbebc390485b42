import { status } from "@grpc/grpc-js";
import {
  AdmissionPolicy,
  duration,
  ErrorReason,
  Jitter,
  RestartPolicy,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { expectError } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

// ExplainTask on one server (SQLite, or PostgreSQL where it leads itself): one blocker per test, each
// made real — runners, runs, pauses, slots and keys — and asserted with the details the blocker names.

let server: TestServer;
let client: SupervisorClient;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  server = await startTestServer();
  client = new SupervisorClient({ address: server.address });
  // "explain-t4" comes closest for gpu=a100 work: only its gpu label is wrong. The others miss explain=fit too.
  runners.push(await startRunner(server.address, "explain-t4", { labels: { explain: "fit", gpu: "t4" } }));
  runners.push(await startRunner(server.address, "explain-busy", { labels: { explain: "busy" }, capacity: 1 }));
  runners.push(await startRunner(server.address, "explain-pool", { labels: { explain: "pool" }, capacity: 8 }));
}, 60_000);

afterAll(async () => {
  client?.close();
  await Promise.all(runners.map((runner) => runner.stop("SIGKILL")));
  await server?.close();
});

const POOL = "explain=pool";

/** Submits a task that stays until canceled, canceled when the test is over. */
async function submitted(spec: ReturnType<typeof subprocess>): Promise<Task> {
  const task = await client.submit(spec);
  onTestFinished(() => client.cancel(task.id).then(() => undefined));
  return task;
}

const running = (task: Task) => waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.STARTED);

describe("ExplainTask", () => {
  it("NO_MATCHING_RUNNER names the closest runner and the term it fails; the runners list says the same", async () => {
    const task = await submitted(subprocess("true", [], { runnerSelector: "explain=fit,gpu=a100" }));
    const { blockers, runners: fits } = await client.explain(task.id);
    expect(blockers).toHaveLength(1);
    expect(blockers[0]).toMatchObject({
      reason: TaskReason.NO_MATCHING_RUNNER,
      message: "no connected runner matches; the closest, explain-t4, fails gpu=a100 (it has gpu=t4)",
    });
    expect(fits.map((fit) => fit.name)).toEqual(["explain-t4", "explain-busy", "explain-pool"]);
    expect(fits[0]).toMatchObject({ matches: false, failedRequirement: "gpu=a100", running: 0, capacity: 2 });
    expect(fits[1]).toMatchObject({ matches: false, failedRequirement: "explain=fit" });
  });

  it("the stored TaskStatus says the same once the task has waited: closest runner and term", async () => {
    const task = await submitted(subprocess("true", [], { runnerSelector: "explain=fit,gpu=a100" }));
    const waiting = await waitForTask(server.tasks, task.id, (t) => t.status!.message.includes("explain-t4"));
    expect(waiting.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.NO_MATCHING_RUNNER,
      message: "no connected runner matches; the closest, explain-t4, fails gpu=a100 (it has gpu=t4)",
    });
  });

  it("RUNNERS_BUSY counts the matching runners at capacity", async () => {
    const holder = await submitted(subprocess("sleep", ["30"], { runnerSelector: "explain=busy" }));
    await running(holder);
    const task = await submitted(subprocess("true", [], { runnerSelector: "explain=busy" }));
    const { blockers, runners: fits } = await client.explain(task.id);
    expect(blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.RUNNERS_BUSY,
        count: 1,
        limit: 1,
        message: "the one matching runner is at capacity or draining",
      }),
    ]);
    expect(fits[0]).toMatchObject({ name: "explain-busy", matches: true, running: 1, capacity: 1, draining: false });
  });

  it("SLOT_QUEUED names the slot's owner", async () => {
    const slot = "explain-slot";
    const owner = await submitted(subprocess("sleep", ["30"], { slot, runnerSelector: POOL }));
    await running(owner);
    const queue = { slot, admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE, runnerSelector: POOL };
    const queued = await submitted(subprocess("true", [], queue));
    const { blockers } = await client.explain(queued.id);
    expect(blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.SLOT_QUEUED,
        ownerTaskId: owner.id,
        message: `queued behind task ${owner.id}, the active task of slot ${slot}`,
      }),
    ]);
  });

  it("CONCURRENCY_LIMITED names the key, its running count and its limit", async () => {
    const concurrency = [{ key: "explain-key", maxRunning: 1 }];
    const holder = await submitted(subprocess("sleep", ["30"], { concurrency, runnerSelector: POOL }));
    await running(holder);
    const task = await submitted(subprocess("true", [], { concurrency, runnerSelector: POOL }));
    const { blockers } = await client.explain(task.id);
    expect(blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.CONCURRENCY_LIMITED,
        key: "explain-key",
        count: 1,
        limit: 1,
        message: "concurrency key explain-key is at its limit: 1 of 1 running",
      }),
    ]);
  });

  it("RATE_LIMITED names the key and when its next token is due", async () => {
    const rateLimits = [{ key: "explain-rate", perSecond: 0, perMinute: 1, burst: 0 }];
    const first = await client.submit(subprocess("true", [], { rateLimits, runnerSelector: POOL }));
    const done = await waitForTask(server.tasks, first.id, (t) => t.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED);
    const task = await submitted(subprocess("true", [], { rateLimits, runnerSelector: POOL }));
    // One a minute: the next token is due a minute after the first task took its token at its assign.
    const due = new Date((await client.listRuns(done.id))[0]!.assignTime!.getTime() + 60_000);
    const { blockers } = await client.explain(task.id);
    expect(blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.RATE_LIMITED,
        key: "explain-rate",
        until: due,
        message: `rate limit explain-rate (1/min, burst 1) has no token: the next is due at ${due.toISOString()}`,
      }),
    ]);
  });

  it("DISPATCH_PAUSED names the pause, what it holds and its note", async () => {
    await client.dispatch.pause({ id: "explain-pause", labelSelector: "explain-paused=yes", note: "maintenance" });
    onTestFinished(() => client.dispatch.resume("explain-pause").then(() => undefined));
    const task = await submitted(subprocess("true", [], { labels: { "explain-paused": "yes" }, runnerSelector: POOL }));
    const { blockers } = await client.explain(task.id);
    expect(blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.DISPATCH_PAUSED,
        pauseId: "explain-pause",
        message: "dispatch paused by explain-pause (labels explain-paused=yes): maintenance",
      }),
    ]);
  });

  it("BACKOFF until the next attempt, after a failed one", async () => {
    const backoff = {
      initialDelay: duration("1h"),
      maxDelay: duration("1h"),
      multiplier: 1,
      jitter: Jitter.JITTER_NONE,
    };
    const restart = RestartPolicy.RESTART_POLICY_ON_FAILURE;
    const task = await submitted(subprocess("false", [], { restart, maxAttempts: 3, backoff, runnerSelector: POOL }));
    const failed = await waitForTask(
      server.tasks,
      task.id,
      (t) => t.status!.attempt === 1 && !!t.status!.nextAttemptTime,
    );
    const next = failed.status!.nextAttemptTime!;
    const { blockers } = await client.explain(task.id);
    expect(blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.BACKOFF,
        until: next,
        message: `backing off after attempt 1 (ATTEMPT_FAILED) until ${next.toISOString()}`,
      }),
    ]);
  });

  it("NOT_BEFORE until spec.not_before", async () => {
    const notBefore = new Date(Date.now() + 3_600_000);
    const task = await submitted(subprocess("true", [], { notBefore, runnerSelector: POOL }));
    const { blockers } = await client.explain(task.id);
    expect(blockers).toEqual([
      expect.objectContaining({ reason: TaskReason.NOT_BEFORE, until: new Date(task.spec!.notBefore!) }),
    ]);
    expect(blockers[0]!.message).toBe(`not before ${task.spec!.notBefore!.toISOString()}`);
  });

  it("a running task has no blockers; its runner is listed as matching, with the run counted", async () => {
    const task = await submitted(subprocess("sleep", ["30"], { runnerSelector: POOL }));
    await running(task);
    const explained = await client.explain(task.id);
    expect(explained.task!.id).toBe(task.id);
    expect(explained.blockers).toEqual([]);
    const pool = explained.runners.find((fit) => fit.name === "explain-pool");
    expect(pool).toMatchObject({ matches: true, failedRequirement: "", capacity: 8 });
    expect(pool!.running).toBeGreaterThanOrEqual(1);
    expect(explained.runners[0]!.name).toBe("explain-pool");
  });

  it("an unknown id is NOT_FOUND / TASK_NOT_FOUND; a malformed one INVALID_ARGUMENT at id, as GetTask", async () => {
    const unknown = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";
    const error = await expectError(client.explain(unknown), status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND);
    expect(error.metadata.task_id).toBe(unknown);
    const malformed = await expectError(client.explain("nope"), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(malformed.fieldViolations[0]!.field).toBe("id");
  });
});
