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
import { ConfigError, loadConfig } from "../server/src/config.js";
import { runCli } from "./helpers/cli.js";
import { expectError } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

const TERMINAL = new Set<TaskPhase>(TERMINAL_PHASES);

let server: TestServer;
let client: SupervisorClient;

beforeAll(async () => {
  // The server's weight for "tenant-vip" wins over what its tasks ask for.
  server = await startTestServer({ fairnessWeights: JSON.stringify({ "tenant-vip": 1 }) });
  client = new SupervisorClient({ address: server.address });
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

/**
 * Tasks for the runners of `pool` only (each test has its own pool, so it is one requirement class and no
 * other test's runners take its tasks), of `tenant`, taking turns by the key tenant-<tenant>.
 */
const specs = (pool: string, tenant: string, count: number, options: { weight?: number; priority?: number } = {}) =>
  Array.from({ length: count }, () =>
    subprocess("true", [], {
      labels: { pool, tenant },
      runnerSelector: `pool=${pool}`,
      priority: options.priority ?? 0,
      fairness: { key: "tenant-{labels.tenant}", weight: options.weight ?? 0 },
    }),
  );

async function submitAll(list: ReturnType<typeof specs>): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let start = 0; start < list.length; start += 500)
    tasks.push(...(await client.submitBatch(list.slice(start, start + 500))));
  return tasks;
}

async function tasksOf(pool: string): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const task of client.list({ filter: { labelSelector: `pool=${pool}` }, pageSize: 1000 })) tasks.push(task);
  return tasks;
}

/** Starts `count` runners of the pool, waits until every task of the pool has ended, stops them. */
async function runPool(pool: string, expected: number, count = 2): Promise<void> {
  const runners: RunnerProcess[] = [];
  try {
    for (let i = 0; i < count; i++)
      runners.push(await startRunner(server.address, `${pool}-${i}`, { labels: { pool } }));
    await waitUntil(
      async () => {
        const all = await tasksOf(pool);
        return all.length === expected && all.every((task) => TERMINAL.has(task.status!.phase));
      },
      `the tasks of pool ${pool} to end`,
      240_000,
      200,
    );
  } finally {
    await Promise.all(runners.map((runner) => runner.stop()));
  }
}

/**
 * The pool's tasks in the order they were dispatched, read from the store: each run's id is a UUIDv7 the
 * server made as it assigned the run, from the one generator that also names tasks, so runs sort in
 * dispatch order, and a run sorts after a task iff it was dispatched after that task was submitted.
 */
async function dispatchOrder(pool: string): Promise<{ runId: string; tenant: string; priority: number }[]> {
  const tasks = await tasksOf(pool);
  const runs: { runId: string; tenant: string; priority: number }[] = [];
  for (let start = 0; start < tasks.length; start += 50) {
    const slice = tasks.slice(start, start + 50);
    const lists = await Promise.all(slice.map((task) => client.listRuns(task.id)));
    lists.forEach((list, i) => {
      const { labels, priority } = slice[i]!.spec!;
      for (const run of list) runs.push({ runId: run.id, tenant: labels.tenant!, priority });
    });
  }
  expect(runs).toHaveLength(tasks.length);
  return runs.sort((a, b) => (a.runId < b.runId ? -1 : 1));
}

const countOf = (runs: readonly { tenant: string }[], tenant: string) => runs.filter((r) => r.tenant === tenant).length;

describe("fairness", () => {
  it("tenant B's 10 tasks are dispatched within ~20 dispatches of their arrival, not after A's 1 000", {
    timeout: 300_000,
  }, async () => {
    const pool = "starve";
    const runners: RunnerProcess[] = [];
    for (let i = 0; i < 2; i++) runners.push(await startRunner(server.address, `${pool}-${i}`, { labels: { pool } }));
    try {
      await submitAll(specs(pool, "a", 1_000));
      const b = await submitAll(specs(pool, "b", 10));
      const arrived = b
        .map((task) => task.id)
        .sort()
        .at(-1)!;
      await waitUntil(
        async () => (await tasksOf(pool)).every((task) => TERMINAL.has(task.status!.phase)),
        "the pool's tasks to end",
        240_000,
        200,
      );
      const after = (await dispatchOrder(pool)).filter((run) => run.runId > arrived);
      // Turns alternate from B's arrival: its 10 tasks are among the next 2 × 10 dispatches...
      expect(countOf(after.slice(0, 20), "b")).toBe(10);
      // ...while most of A's backlog was still waiting (B did not wait for it).
      expect(countOf(after.slice(20), "a")).toBeGreaterThan(500);
    } finally {
      await Promise.all(runners.map((runner) => runner.stop()));
    }
  });

  it("with weights 1, 1 and 2 and a steady backlog, the shares of the first 400 dispatches are within 10 % of ideal", {
    timeout: 300_000,
  }, async () => {
    const pool = "weighted";
    // Submitted before any runner of the pool connects: all of it waits from the first dispatch on.
    await submitAll([
      ...specs(pool, "one", 300, { weight: 1 }),
      ...specs(pool, "other", 300),
      ...specs(pool, "double", 300, { weight: 2 }),
    ]);
    await runPool(pool, 900);
    const first = (await dispatchOrder(pool)).slice(0, 400);
    const ideal = { one: 100, other: 100, double: 200 };
    for (const [tenant, share] of Object.entries(ideal)) {
      expect(Math.abs(countOf(first, tenant) - share)).toBeLessThanOrEqual(share * 0.1);
    }
  });

  it("the server's weight for a key wins over the weight its tasks ask for", { timeout: 300_000 }, async () => {
    const pool = "server-weight";
    // tenant-vip asks for 1000 times the share; the server's fairnessWeights says 1.
    await submitAll([...specs(pool, "vip", 200, { weight: 1000 }), ...specs(pool, "plain", 200)]);
    await runPool(pool, 400);
    const first = (await dispatchOrder(pool)).slice(0, 100);
    expect(Math.abs(countOf(first, "vip") - 50)).toBeLessThanOrEqual(5);
  });

  it("a key that starts waiting late gets its share from then on, with no burst of catch-up turns", {
    timeout: 300_000,
  }, async () => {
    const pool = "late";
    await submitAll([...specs(pool, "a", 400), ...specs(pool, "b", 400)]);
    const runners: RunnerProcess[] = [];
    for (let i = 0; i < 2; i++) runners.push(await startRunner(server.address, `${pool}-${i}`, { labels: { pool } }));
    try {
      await waitUntil(
        async () => (await tasksOf(pool)).filter((task) => task.status!.phase !== TaskPhase.TASK_PHASE_PENDING).length,
        "some of the pool's tasks to be dispatched",
      );
      const late = await submitAll(specs(pool, "c", 100));
      const arrived = late
        .map((task) => task.id)
        .sort()
        .at(-1)!;
      await waitUntil(
        async () => (await tasksOf(pool)).every((task) => TERMINAL.has(task.status!.phase)),
        "the pool's tasks to end",
        240_000,
        200,
      );
      const after = (await dispatchOrder(pool)).filter((run) => run.runId > arrived).slice(0, 150);
      // a and b kept waiting throughout: c has a third of every stretch from its arrival, give or take two turns.
      expect(countOf(after, "a")).toBeGreaterThan(40);
      expect(countOf(after, "b")).toBeGreaterThan(40);
      for (let n = 1; n <= after.length; n++) {
        expect(Math.abs(countOf(after.slice(0, n), "c") - n / 3)).toBeLessThanOrEqual(2);
      }
    } finally {
      await Promise.all(runners.map((runner) => runner.stop()));
    }
  });

  it("priorities win over fairness: every task of the higher priority goes first", { timeout: 300_000 }, async () => {
    const pool = "priority";
    await submitAll([...specs(pool, "low", 60), ...specs(pool, "high", 30, { priority: 5 })]);
    await runPool(pool, 90);
    const order = await dispatchOrder(pool);
    expect(order.slice(0, 30).every((run) => run.priority === 5)).toBe(true);
    expect(countOf(order.slice(0, 30), "high")).toBe(30);
  });
});

describe("fairness: the stored spec", () => {
  it("holds the templated key and the weight as asked; waiting, it says why as any task does", async () => {
    const task = await client.submit(
      subprocess("true", [], {
        labels: { tenant: "acme" },
        runnerSelector: "pool=nowhere",
        fairness: { key: "tenant-{labels.tenant}", weight: 3 },
      }),
    );
    expect(task.spec!.fairness).toEqual({ key: "tenant-acme", weight: 3 });
    expect((await client.get(task.id)).spec!.fairness).toEqual({ key: "tenant-acme", weight: 3 });
    const waiting = await waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.NO_MATCHING_RUNNER);
    expect(waiting.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await client.cancel(task.id);
  });
});

describe("fairness: bad input", () => {
  const refused = async (fairness: unknown, labels: Record<string, string> = {}) => {
    const error = await expectError(
      client.submit(subprocess("true", [], { labels, fairness: fairness as never })),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    return (error as SupervisorError).fieldViolations.map((violation) => violation.field);
  };

  it("a templated key naming a label the task lacks", async () => {
    expect(await refused({ key: "tenant-{labels.tenant}", weight: 1 })).toEqual(["spec.fairness.key"]);
  });

  it("a key that is no key after templating, or none at all", async () => {
    expect(await refused({ key: "a b", weight: 1 })).toEqual(["spec.fairness.key"]);
    // Labels fill it up to more than 253 characters.
    expect(await refused({ key: "{labels.t}".repeat(5), weight: 1 }, { t: "x".repeat(63) })).toEqual([
      "spec.fairness.key",
    ]);
    expect(await refused({ key: "x".repeat(254), weight: 1 })).toEqual(["spec.fairness.key"]);
    expect(await refused({ key: "x".repeat(1025), weight: 1 })).toEqual(["spec.fairness.key"]);
    expect(await refused({ key: "", weight: 1 })).toEqual(["spec.fairness.key"]);
  });

  it("a weight out of 0..1000", async () => {
    expect(await refused({ key: "k", weight: -1 })).toEqual(["spec.fairness.weight"]);
    expect(await refused({ key: "k", weight: 1001 })).toEqual(["spec.fairness.weight"]);
  });
});

describe("fairness: config and CLI", () => {
  it("fairnessWeights comes from the config file, SUPERVISOR_FAIRNESS_WEIGHTS or --fairness-weights", () => {
    expect(loadConfig({}).fairnessWeights).toEqual({});
    expect(loadConfig({ env: { SUPERVISOR_FAIRNESS_WEIGHTS: '{"tenant-a": 3}' } }).fairnessWeights).toEqual({
      "tenant-a": 3,
    });
    expect(loadConfig({ flags: { fairnessWeights: '{"tenant-b": 1000}' } }).fairnessWeights).toEqual({
      "tenant-b": 1000,
    });
    for (const bad of ['{"tenant a": 1}', '{"k": 0}', '{"k": 1001}', '{"k": 1.5}', "[1]"]) {
      expect(() => loadConfig({ flags: { fairnessWeights: bad } })).toThrow(ConfigError);
    }
  });

  it("supervisor submit --fairness-key K --fairness-weight W", { timeout: 60_000 }, async () => {
    const cli = (...args: string[]) => runCli(["submit", "--addr", server.address, ...args]);
    const submitted = await cli(
      "--label",
      "tenant=c",
      "--selector",
      "pool=nowhere",
      "--fairness-key",
      "tenant-{labels.tenant}",
      "--fairness-weight",
      "3",
      "--json",
      "--",
      "true",
    );
    expect(submitted.code).toBe(0);
    const task = JSON.parse(submitted.stdout) as { id: string; spec: { fairness: unknown } };
    expect(task.spec.fairness).toEqual({ key: "tenant-c", weight: 3 });
    await client.cancel(task.id);
    const weightAlone = await cli("--fairness-weight", "3", "--", "true");
    expect(weightAlone.code).toBe(2);
    expect(weightAlone.stderr).toContain("--fairness-weight is the share of a fairness key: it needs --fairness-key");
    const zero = await cli("--fairness-key", "k", "--fairness-weight", "0", "--", "true");
    expect(zero.code).toBe(2);
    const missingLabel = await cli("--fairness-key", "tenant-{labels.tenant}", "--", "true");
    expect(missingLabel.code).not.toBe(0);
    expect(missingLabel.stderr).toContain("spec.fairness.key");
  });
});
