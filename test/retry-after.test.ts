import {
  embedded,
  Jitter,
  parseRetryAfterFile,
  RestartPolicy,
  RetryAfter,
  type Run,
  Runner,
  RunOutcome,
  RunPhase,
  type SpecOptions,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { FakeClock } from "./helpers/fake-clock.js";
import { hello, type RawRunner, rawRunner } from "./helpers/raw-runner.js";
import { startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

// A runner's push-back: a handler throws RetryAfter (an HTTP 429 from a vendor), and the run is deferred, not
// failed — the task is tried again after the time asked, and its keys wait as long for every task on every
// runner. On a fake clock, so "5 s later" is exact; the runners are real SDK runners (or a raw Connect stream
// for reports no SDK runner sends).

const T0 = Date.UTC(2030, 0, 1);
const SECOND = 1_000;

let server: TestServer | undefined;
let client: SupervisorClient | undefined;
const runners: Runner[] = [];
let raw: RawRunner | undefined;

afterEach(async () => {
  raw?.stream.end();
  client?.close();
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  await server?.close();
  server = client = raw = undefined;
});

/** Handler payload `pushBack`: how many of its attempts ask to retry after `afterMs` (on `key`, if given). */
interface Scenario {
  id: string;
  pushBack?: number;
  afterMs?: number;
  key?: string;
  fail?: boolean;
}

/** Calls per scenario id, and which runner ran each. */
const calls = new Map<string, string[]>();

async function start(clock: FakeClock): Promise<SupervisorClient> {
  server = await startTestServer({ leaseTtl: "24h" }, { clock, timers: clock });
  client = new SupervisorClient({ address: server.address });
  calls.clear();
  for (const name of ["push-1", "push-2"]) {
    const runner = new Runner({ address: server.address, name, capacity: 4, kinds: ["embedded:vendor"] });
    runner.handle("vendor", (payload) => {
      const scenario = payload as unknown as Scenario;
      const seen = [...(calls.get(scenario.id) ?? []), name];
      calls.set(scenario.id, seen);
      if (seen.length <= (scenario.pushBack ?? 0)) {
        throw new RetryAfter(scenario.afterMs ?? 5 * SECOND, { key: scenario.key, message: "429 from the vendor" });
      }
      if (scenario.fail) throw new Error("the vendor refused");
      return { ok: true };
    });
    await runner.start();
    runners.push(runner);
  }
  return client;
}

const vendorTask = (scenario: Scenario, options: SpecOptions = {}) =>
  embedded("vendor", scenario as unknown as Record<string, unknown>, options);

/** Waits (the clock still) until the task's status satisfies `until`. */
async function statusOf(clock: FakeClock, task: Task, until: (task: Task) => boolean, what: string): Promise<Task> {
  return waitUntil(async () => {
    await clock.advanceAsync(0);
    const now = await client!.get(task.id);
    return until(now) ? now : undefined;
  }, `task ${task.id}: ${what}`);
}

const phase = (wanted: TaskPhase) => (task: Task) => task.status!.phase === wanted;
const reason = (wanted: string) => (task: Task) => task.status!.reason === wanted;
const runsOf = (task: Task): Promise<Run[]> => client!.listRuns(task.id);

describe("retry-after from a handler", () => {
  it("pauses the task's key for other tasks and runners, not tasks of other keys; the attempt is deferred", {
    timeout: 120_000,
  }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const vendor = { rateLimits: [{ key: "vendor-x", perSecond: 1000, burst: 100 }] };
    const asker = await client!.submit(vendorTask({ id: "asker", pushBack: 1 }, vendor));
    const deferred = await statusOf(clock, asker, reason(TaskReason.RETRY_AFTER), "deferred");
    // Not a failure: pending again (restart NEVER, yet tried again), counted deferred, next try 5 s later.
    expect(deferred.spec!.restart).toBe(RestartPolicy.RESTART_POLICY_NEVER);
    expect(deferred.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      attempt: 1,
      nextAttemptTime: new Date(T0 + 5 * SECOND),
      runCounts: { succeeded: 0, failed: 0, timeout: 0, canceled: 0, lost: 0, deferred: 1 },
    });
    expect(deferred.status!.message).toBe(
      "attempt 1 deferred: the downstream asked to retry after 5s: 429 from the vendor",
    );
    const [run] = await runsOf(asker);
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_FAILED, retryAfter: { seconds: 5, nanos: 0 } });
    expect(run!.error).toBe("429 from the vendor");

    // Another task of the key waits, on either runner, with the pause in its message...
    const sameKey = await client!.submit(vendorTask({ id: "same-key" }, vendor));
    // ...while a task of another key, and one with no keys, run at once.
    const otherKey = await client!.submit(
      vendorTask({ id: "other-key" }, { rateLimits: [{ key: "vendor-y", perSecond: 1000 }] }),
    );
    const noKeys = await client!.submit(vendorTask({ id: "no-keys" }));
    await statusOf(clock, otherKey, phase(TaskPhase.TASK_PHASE_SUCCEEDED), "the other key's task ran");
    await statusOf(clock, noKeys, phase(TaskPhase.TASK_PHASE_SUCCEEDED), "the task without keys ran");
    await clock.advanceToAsync(T0 + SECOND); // waiting reasons are written once a task waited a second
    const held = await statusOf(clock, sameKey, reason(TaskReason.RATE_LIMITED), "held by the pause");
    expect(held.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect(held.status!.message).toBe(
      `key vendor-x is paused until ${new Date(T0 + 5 * SECOND).toISOString()} by a retry-after of run ${run!.id}`,
    );
    expect(calls.has("same-key")).toBe(false);

    // Until then exactly: a millisecond early nothing runs; at 5 s both do.
    await clock.advanceToAsync(T0 + 5 * SECOND - 1);
    await clock.advanceAsync(0);
    expect((await client!.get(sameKey.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect((await client!.get(asker.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await clock.advanceToAsync(T0 + 5 * SECOND);
    const retried = await statusOf(clock, asker, phase(TaskPhase.TASK_PHASE_SUCCEEDED), "the asker ran again");
    expect(retried.status).toMatchObject({ attempt: 2, runCounts: { succeeded: 1, failed: 0, deferred: 1 } });
    await statusOf(clock, sameKey, phase(TaskPhase.TASK_PHASE_SUCCEEDED), "the held task ran");
  });

  it("retry_after_key pauses only that key of the task", { timeout: 120_000 }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const asker = await client!.submit(
      vendorTask(
        { id: "keyed", pushBack: 1, key: "shared-db" },
        {
          rateLimits: [{ key: "api", perSecond: 1000, burst: 100 }],
          concurrency: [{ key: "shared-db", maxRunning: 10 }],
        },
      ),
    );
    await statusOf(clock, asker, reason(TaskReason.RETRY_AFTER), "deferred");
    const onDb = await client!.submit(
      vendorTask({ id: "on-db" }, { concurrency: [{ key: "shared-db", maxRunning: 5 }] }),
    );
    const onApi = await client!.submit(
      vendorTask({ id: "on-api" }, { rateLimits: [{ key: "api", perSecond: 1000, burst: 100 }] }),
    );
    await statusOf(clock, onApi, phase(TaskPhase.TASK_PHASE_SUCCEEDED), "the task of the key not named ran");
    await clock.advanceToAsync(T0 + SECOND);
    const held = await statusOf(clock, onDb, reason(TaskReason.RATE_LIMITED), "the named key's task held");
    expect(held.status!.message).toContain("key shared-db is paused until");
    await clock.advanceToAsync(T0 + 5 * SECOND);
    await statusOf(clock, onDb, phase(TaskPhase.TASK_PHASE_SUCCEEDED), "released when the pause ends");
  });

  it("deferred attempts do not count against max_attempts", { timeout: 120_000 }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const task = await client!.submit(
      vendorTask(
        { id: "stubborn", pushBack: 2, afterMs: SECOND, fail: true },
        {
          restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
          maxAttempts: 2,
          backoff: { initialDelay: { seconds: 1, nanos: 0 }, jitter: Jitter.JITTER_NONE },
        },
      ),
    );
    // Two deferred attempts, then two failures: max_attempts 2 counts the failures only.
    for (let second = 1; second <= 3; second++) {
      await statusOf(
        clock,
        task,
        (t) => t.status!.attempt === second && t.status!.phase === TaskPhase.TASK_PHASE_PENDING,
        `attempt ${second} over`,
      );
      await clock.advanceAsync(SECOND);
    }
    const exhausted = await statusOf(clock, task, phase(TaskPhase.TASK_PHASE_EXHAUSTED), "exhausted");
    expect(exhausted.status).toMatchObject({ attempt: 4, runCounts: { failed: 2, deferred: 2, succeeded: 0 } });
    const runs = await runsOf(task);
    expect(runs.map((run) => run.retryAfter?.seconds)).toEqual([1, 1, undefined, undefined]);
  });
});

describe("retry-after: reports the supervisor drops", () => {
  /** A raw runner takes the next assign and ends it with `finished`; returns the task and its run. */
  async function runWith(finished: Record<string, unknown>, spec: TaskSpec): Promise<{ task: Task; run: Run }> {
    const task = await client!.submit(spec);
    const message = await raw!.next();
    if (message.message?.$case !== "assign") throw new Error(`expected an assign, got ${message.message?.$case}`);
    const { runId } = message.message.value;
    raw!.send({ $case: "runStarted", value: { runId } });
    raw!.send({ $case: "runFinished", value: { runId, exitCode: 1, error: "", outputBytes: 0, ...finished } as never });
    const ended = await waitUntil(async () => {
      const run = (await client!.listRuns(task.id))[0];
      return run && run.phase !== RunPhase.RUN_PHASE_ASSIGNED && run.phase !== RunPhase.RUN_PHASE_RUNNING
        ? run
        : undefined;
    }, "the run to end");
    while ((await raw!.next()).message?.$case !== "ack") {} // its end is recorded
    return { task: await client!.get(task.id), run: ended };
  }

  async function startRaw() {
    server = await startTestServer();
    client = new SupervisorClient({ address: server.address });
    raw = rawRunner(server.runners);
    raw.send(hello("raw-pusher", { kinds: ["embedded:vendor"], capacity: 1 }));
    expect((await raw.next()).message?.$case).toBe("welcome");
  }

  const keyed = vendorTask({ id: "raw" }, { rateLimits: [{ key: "mine", perSecond: 100 }] });
  const failed = RunOutcome.RUN_OUTCOME_FAILED;

  it.each([
    ["0 ms", { seconds: 0, nanos: 0 }, failed],
    ["under a millisecond", { seconds: 0, nanos: 500_000 }, failed],
    ["over 24 h", { seconds: 86_401, nanos: 0 }, failed],
    ["negative", { seconds: -5, nanos: 0 }, failed],
    ["with outcome SUCCEEDED", { seconds: 5, nanos: 0 }, RunOutcome.RUN_OUTCOME_SUCCEEDED],
  ])("a retry_after %s is dropped: the run ends as reported, counted as such", async (_, retryAfter, outcome) => {
    await startRaw();
    const { task, run } = await runWith({ outcome, retryAfter }, keyed);
    expect(run.retryAfter).toBeUndefined();
    const succeeded = outcome === RunOutcome.RUN_OUTCOME_SUCCEEDED;
    expect(run.phase).toBe(succeeded ? RunPhase.RUN_PHASE_SUCCEEDED : RunPhase.RUN_PHASE_FAILED);
    expect(task.status!.phase).toBe(succeeded ? TaskPhase.TASK_PHASE_SUCCEEDED : TaskPhase.TASK_PHASE_FAILED);
    expect(task.status!.runCounts).toMatchObject({ deferred: 0, failed: succeeded ? 0 : 1 });
  });

  it("a retry_after_key that is not one of the task's keys is dropped: only the task waits", async () => {
    await startRaw();
    const { task, run } = await runWith(
      { outcome: failed, retryAfter: { seconds: 60, nanos: 0 }, retryAfterKey: "not-mine" },
      keyed,
    );
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_FAILED, retryAfter: { seconds: 60, nanos: 0 } });
    expect(task.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, reason: TaskReason.RETRY_AFTER });
    expect(task.status!.runCounts).toMatchObject({ deferred: 1, failed: 0 });
    // Its key is not paused: the next task of it is assigned at once.
    const next = await client!.submit(
      vendorTask({ id: "raw-next" }, { rateLimits: [{ key: "mine", perSecond: 100 }] }),
    );
    const message = await raw!.next();
    expect(message.message?.$case === "assign" && message.message.value.taskId).toBe(next.id);
  });
});

describe("retry-after from a program", () => {
  it("a subprocess that writes `retry-after <seconds> [key]` to $SUPERVISOR_RETRY_AFTER_FILE and fails is deferred", {
    timeout: 60_000,
  }, async () => {
    server = await startTestServer();
    client = new SupervisorClient({ address: server.address });
    const cli = await startRunner(server.address, "file-pusher", { kinds: "subprocess" });
    onTestFinished(() => cli.stop().then(() => undefined));
    const script = 'echo "retry-after 90 vendor-z" > "$SUPERVISOR_RETRY_AFTER_FILE"; exit 3';
    const task = await client.submit(
      subprocess("sh", ["-c", script], { rateLimits: [{ key: "vendor-z", perSecond: 1 }] }),
    );
    const deferred = await waitForTask(server.tasks, task.id, reason(TaskReason.RETRY_AFTER));
    expect(deferred.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, exitCode: 3 });
    expect(deferred.status!.runCounts).toMatchObject({ deferred: 1, failed: 0 });
    const [run] = await runsOf(task);
    expect(run).toMatchObject({ phase: RunPhase.RUN_PHASE_FAILED, exitCode: 3, retryAfter: { seconds: 90, nanos: 0 } });
    // Without the file (or exiting 0) a program's run is what it always was.
    const plain = await client.submit(subprocess("sh", ["-c", "exit 3"]));
    const failed = await waitForTask(server.tasks, plain.id);
    expect(failed.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    expect((await runsOf(plain))[0]!.retryAfter).toBeUndefined();
    await client.cancel(task.id);
  });

  it.each([
    ["retry-after 2.5", { ms: 2500 }],
    ["retry-after 30 vendor-x\nmore", { ms: 30_000, key: "vendor-x" }],
    ["  retry-after 1  ", { ms: 1000 }],
    ["retry-after", { problem: '"retry-after" is not "retry-after <seconds> [key]"' }],
    ["wait 5", { problem: '"wait 5" is not "retry-after <seconds> [key]"' }],
    ["retry-after 0", { problem: "0 s is not 1 ms..24h" }],
    ["retry-after 86401", { problem: "86401 s is not 1 ms..24h" }],
  ])("the file %j reads as %o", (text, parsed) => {
    expect(parseRetryAfterFile(text)).toEqual(parsed);
  });
});
