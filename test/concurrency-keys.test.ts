import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  SupervisorClient,
  type SupervisorError,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
  TERMINAL_PHASES,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

const TERMINAL = new Set<TaskPhase>(TERMINAL_PHASES);
const BURST = 2_000;
const LIMIT = 5;

let server: TestServer;
let client: SupervisorClient;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  server = await startTestServer({ concurrencyLimits: JSON.stringify({ "shared-db": 2, "server-only": 3 }) });
  client = new SupervisorClient({ address: server.address });
  for (const name of ["keys-a", "keys-b", "keys-c"]) {
    runners.push(await startRunner(server.address, name, { capacity: 4 }));
  }
}, 60_000);

afterAll(async () => {
  client?.close();
  await Promise.all(runners.map((runner) => runner.stop()));
  await server?.close();
});

/** Every task with the label, from the store. */
async function tasksLabelled(selector: string, phases: TaskPhase[] = []): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const task of client.list({ filter: { labelSelector: selector, phases }, pageSize: 1000 }))
    tasks.push(task);
  return tasks;
}

/**
 * Submits the specs, then samples the store until all of them ended: returns the most tasks of `selector`
 * ever seen RUNNING (assigned or started) at once.
 */
async function runAndSample(selector: string, specs: ReturnType<typeof subprocess>[]): Promise<number> {
  for (let start = 0; start < specs.length; start += 500) await client.submitBatch(specs.slice(start, start + 500));
  let most = 0;
  await waitUntil(
    async () => {
      const running = await tasksLabelled(selector, [TaskPhase.TASK_PHASE_RUNNING]);
      most = Math.max(most, running.length);
      const all = await tasksLabelled(selector);
      return all.length === specs.length && all.every((task) => TERMINAL.has(task.status!.phase));
    },
    `the tasks of ${selector} to end`,
    240_000,
  );
  return most;
}

describe("concurrency keys", () => {
  it(`a ${BURST}-task burst across 3 runners never has more than ${LIMIT} running with the key`, {
    timeout: 300_000,
  }, async () => {
    const specs = Array.from({ length: BURST }, () =>
      subprocess("true", [], { labels: { burst: "1" }, concurrency: [{ key: "burst", maxRunning: LIMIT }] }),
    );
    const most = await runAndSample("burst=1", specs);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(LIMIT);
    const ended = await tasksLabelled("burst=1");
    expect(ended.filter((task) => task.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED)).toEqual([]);
  });

  it("a key templated from a label limits each tenant on its own", { timeout: 120_000 }, async () => {
    const specs = ["a", "b"].flatMap((tenant) =>
      Array.from({ length: 40 }, () =>
        subprocess("sleep", ["0.05"], {
          labels: { templated: "1", tenant },
          concurrency: [{ key: "tenant-{labels.tenant}", maxRunning: 2 }],
        }),
      ),
    );
    const first = await client.submit(specs[0]!);
    expect(first.spec!.concurrency).toEqual([{ key: "tenant-a", maxRunning: 2 }]);
    let mostA = 0;
    let mostB = 0;
    await client.submitBatch(specs.slice(1));
    await waitUntil(
      async () => {
        const running = await tasksLabelled("templated=1", [TaskPhase.TASK_PHASE_RUNNING]);
        mostA = Math.max(mostA, running.filter((task) => task.spec!.labels.tenant === "a").length);
        mostB = Math.max(mostB, running.filter((task) => task.spec!.labels.tenant === "b").length);
        const all = await tasksLabelled("templated=1");
        return all.every((task) => TERMINAL.has(task.status!.phase));
      },
      "the tenants' tasks to end",
      100_000,
    );
    expect(mostA).toBeLessThanOrEqual(2);
    expect(mostB).toBeLessThanOrEqual(2);
    // Each tenant's own key: both ran.
    expect(mostA).toBeGreaterThan(0);
    expect(mostB).toBeGreaterThan(0);
  });

  it("the server-side limit wins over the task's max_running", { timeout: 120_000 }, async () => {
    const specs = Array.from({ length: 30 }, () =>
      subprocess("sleep", ["0.05"], { labels: { shared: "1" }, concurrency: [{ key: "shared-db", maxRunning: 10 }] }),
    );
    const most = await runAndSample("shared=1", specs);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it("max_running 0 takes the server's limit", { timeout: 60_000 }, async () => {
    const task = await client.submit(subprocess("true", [], { concurrency: [{ key: "server-only", maxRunning: 0 }] }));
    expect((await waitForTask(server.tasks, task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("a schedule's template may take the server's limit with max_running 0, as a submit may", {
    timeout: 60_000,
  }, async () => {
    const template = subprocess("true", [], { concurrency: [{ key: "server-only", maxRunning: 0 }] });
    await client.schedules.create({ id: "keys-server-limit", spec: { cron: "@yearly" }, task: template });
    const fired = await client.schedules.trigger("keys-server-limit");
    expect((await waitForTask(server.tasks, fired.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("a task waiting on its key says CONCURRENCY_LIMITED, naming the key and its count", {
    timeout: 60_000,
  }, async () => {
    const holder = await client.submit(
      subprocess("sleep", ["30"], { concurrency: [{ key: "one-at-a-time", maxRunning: 1 }] }),
    );
    await waitForTask(server.tasks, holder.id, (task) => task.status!.phase === TaskPhase.TASK_PHASE_RUNNING);
    const waiting = await client.submit(
      subprocess("true", [], { concurrency: [{ key: "one-at-a-time", maxRunning: 1 }] }),
    );
    const limited = await waitForTask(
      server.tasks,
      waiting.id,
      (task) => task.status!.reason === TaskReason.CONCURRENCY_LIMITED,
    );
    expect(limited.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect(limited.status!.message).toBe("concurrency key one-at-a-time is at its limit: 1 of 1 running");
    // The holder ends: the waiting task runs at once (no polling: it is let go by the end).
    await client.cancel(holder.id);
    expect((await waitForTask(server.tasks, waiting.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });
});

describe("concurrency keys: bad input", () => {
  const refused = async (concurrency: unknown, labels: Record<string, string> = {}) => {
    const error = await expectError(
      client.submit(subprocess("true", [], { labels, concurrency: concurrency as never })),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    return (error as SupervisorError).fieldViolations.map((violation) => violation.field);
  };

  it("a templated key naming a label the task lacks", async () => {
    expect(await refused([{ key: "tenant-{labels.tenant}", maxRunning: 1 }])).toEqual(["spec.concurrency[0].key"]);
  });

  it("a key that is no key after templating", async () => {
    expect(await refused([{ key: "a b", maxRunning: 1 }])).toEqual(["spec.concurrency[0].key"]);
    expect(await refused([{ key: "x".repeat(254), maxRunning: 1 }])).toEqual(["spec.concurrency[0].key"]);
    expect(await refused([{ key: "", maxRunning: 1 }])).toEqual(["spec.concurrency[0].key"]);
  });

  it("a key named twice", async () => {
    expect(
      await refused(
        [
          { key: "k-{labels.t}", maxRunning: 1 },
          { key: "k-x", maxRunning: 2 },
        ],
        { t: "x" },
      ),
    ).toEqual(["spec.concurrency[1].key"]);
  });

  it("max_running out of range, or 0 with no server limit", async () => {
    expect(await refused([{ key: "k", maxRunning: -1 }])).toEqual(["spec.concurrency[0].max_running"]);
    expect(await refused([{ key: "k", maxRunning: 1_000_001 }])).toEqual(["spec.concurrency[0].max_running"]);
    expect(await refused([{ key: "no-server-limit", maxRunning: 0 }])).toEqual(["spec.concurrency[0].max_running"]);
  });

  it("more than 8 keys", async () => {
    const keys = Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, maxRunning: 1 }));
    expect(await refused(keys)).toEqual(["spec.concurrency"]);
  });
});

describe("concurrency keys across a restart", () => {
  it("the count of a key's runs is rebuilt from the store: a second task still waits", {
    timeout: 90_000,
  }, async () => {
    const own = await startTestServer();
    let ownClient = new SupervisorClient({ address: own.address });
    let ownRunner = await startRunner(own.address, "keys-restart", { capacity: 4 });
    try {
      const spec = subprocess("sleep", ["20"], { concurrency: [{ key: "survives", maxRunning: 1 }] });
      const holder = await ownClient.submit(spec);
      await waitForTask(own.tasks, holder.id, (task) => task.status!.phase === TaskPhase.TASK_PHASE_RUNNING);
      // The runner dies (a SIGTERM would wait for its run); its run stays active, holding the key, for a lease.
      await ownRunner.stop("SIGKILL");
      await own.restart();
      ownClient.close();
      ownClient = new SupervisorClient({ address: own.address });
      ownRunner = await startRunner(own.address, "keys-restart-2", { capacity: 4 });
      const second = await ownClient.submit(
        subprocess("true", [], { concurrency: [{ key: "survives", maxRunning: 1 }] }),
      );
      const waiting = await waitForTask(
        own.tasks,
        second.id,
        (task) => task.status!.reason === TaskReason.CONCURRENCY_LIMITED,
      );
      expect(waiting.status!.message).toBe("concurrency key survives is at its limit: 1 of 1 running");
    } finally {
      ownClient.close();
      await ownRunner.stop();
      await own.close();
    }
  });
});
