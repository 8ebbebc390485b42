import {
  embedded,
  Jitter,
  ListRunnersResponse,
  ListTaskRunsResponse,
  ListTasksResponse,
  MAX_JSON_BYTES,
  RestartPolicy,
  Runner,
  SupervisorClient,
  type Task,
  type TaskFilter,
  TaskPhase,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PAGE_BYTES } from "../server/src/core/page-budget.js";
import { call, rpc } from "./helpers/grpc.js";
import { hello, rawRunner, runnersListed } from "./helpers/raw-runner.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

/**
 * Tasks and runs carry up to 256 KiB of JSON each, and gRPC clients refuse
 * messages over 4 MiB by default: list pages are cut by bytes as well as by
 * page_size, so a default client can always read them. The clients here keep
 * grpc-js's default 4 MiB receive limit.
 */
const BLOB = "x".repeat(MAX_JSON_BYTES - 100); // one task ≈ 256 KiB; 24 of them ≈ 6 MiB

let server: TestServer;
let client: SupervisorClient;
beforeAll(async () => {
  server = await startTestServer();
  client = new SupervisorClient({ address: server.address });
});
afterAll(async () => {
  client.close();
  await server.close();
});

describe("list pages stay readable by any client (at most MAX_PAGE_BYTES of items)", () => {
  const submitted: string[] = [];
  beforeAll(async () => {
    // Nobody runs these: the selector matches no runner.
    for (let i = 0; i < 24; i++) {
      const spec = embedded(
        "big",
        { blob: BLOB, i },
        { labels: { big: "yes" }, runnerSelector: { matchLabels: { nobody: "here" }, matchExpressions: [] } },
      );
      submitted.push((await client.submit(spec)).id);
    }
  });

  async function pages(filter: TaskFilter | undefined): Promise<{ sizes: number[]; counts: number[]; ids: string[] }> {
    const sizes: number[] = [];
    const counts: number[] = [];
    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await call(rpc(server.tasks, "listTasks"), { filter, pageSize: 1000, pageToken });
      sizes.push(ListTasksResponse.encode(page).finish().length);
      counts.push(page.tasks.length);
      ids.push(...page.tasks.map((t: Task) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return { sizes, counts, ids };
  }

  const cases: [string, TaskFilter | undefined][] = [
    ["ListTasks", undefined],
    [
      "ListTasks with a label selector",
      { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "big=yes" },
    ],
  ];
  for (const [name, filter] of cases) {
    it(`${name}: a page of 1000 is cut short by bytes, every page is under 4 MiB, and the tokens reach every task once`, async () => {
      const { sizes, counts, ids } = await pages(filter);
      expect(counts.length).toBeGreaterThan(1);
      expect(counts[0]).toBeLessThan(24);
      for (const size of sizes) expect(size).toBeLessThan(MAX_PAGE_BYTES + 64 * 1024);
      expect(ids).toEqual([...submitted].reverse()); // newest first, none skipped or repeated
    });
  }
});

it("ListTaskRuns: runs with large results come in pages under 4 MiB", { timeout: 60_000 }, async () => {
  const runner = new Runner({
    address: server.address,
    name: "big-results",
    labels: { results: "big" },
    log: () => {},
  });
  runner.handle("big-result", () => ({ blob: BLOB }));
  await runner.start();
  try {
    const backoff = {
      initialDelay: { seconds: 0, nanos: 1_000_000 },
      maxDelay: { seconds: 0, nanos: 1_000_000 },
      multiplier: 1,
      jitter: Jitter.JITTER_NONE,
    };
    const spec = embedded(
      "big-result",
      {},
      {
        restart: RestartPolicy.RESTART_POLICY_ALWAYS,
        maxAttempts: 16,
        backoff,
        runnerSelector: { matchLabels: { results: "big" }, matchExpressions: [] },
      },
    );
    const task = await client.submit(spec);
    expect((await client.waitFor(task.id)).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_SUCCEEDED,
      attempt: 16,
    });
    const attempts: number[] = [];
    let pageToken = "";
    let pagesSeen = 0;
    do {
      const page = await call(rpc(server.tasks, "listTaskRuns"), { taskId: task.id, pageSize: 1000, pageToken });
      expect(ListTaskRunsResponse.encode(page).finish().length).toBeLessThan(MAX_PAGE_BYTES + 64 * 1024);
      expect(page.runs.every((run) => run.result?.blob === BLOB)).toBe(true);
      attempts.push(...page.runs.map((run) => run.attempt));
      pageToken = page.nextPageToken;
      pagesSeen++;
    } while (pageToken);
    expect(pagesSeen).toBeGreaterThan(1);
    expect(attempts).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  } finally {
    await runner.stop();
  }
});

it("ListRunners: runners with many kinds come in pages under 4 MiB", { timeout: 60_000 }, async () => {
  // 1000 kinds of 250 characters: ≈ 250 KiB per runner, 16 runners ≈ 4 MiB.
  const kinds = Array.from({ length: 1000 }, (_, i) => `embedded:${String(i).padStart(4, "0")}${"k".repeat(237)}`);
  const connected = [];
  for (let i = 0; i < 16; i++) {
    const runner = rawRunner(server.runners);
    runner.send(hello(`wide-${String(i).padStart(2, "0")}`, { labels: { wide: "yes" }, kinds }));
    expect((await runner.next()).message?.$case).toBe("welcome");
    connected.push(runner);
  }
  const wide = Array.from({ length: 16 }, (_, i) => `wide-${String(i).padStart(2, "0")}`);
  await runnersListed(server.runners, wide);
  const names: string[] = [];
  let pageToken = "";
  let pagesSeen = 0;
  do {
    const page = await call(rpc(server.runners, "listRunners"), {
      pageSize: 1000,
      pageToken,
      labelSelector: "wide=yes",
    });
    expect(ListRunnersResponse.encode(page).finish().length).toBeLessThan(MAX_PAGE_BYTES + 64 * 1024);
    names.push(...page.runners.map((runner) => runner.name));
    pageToken = page.nextPageToken;
    pagesSeen++;
  } while (pageToken);
  expect(pagesSeen).toBeGreaterThan(1);
  expect(names).toEqual(wide);
  for (const runner of connected) runner.stream.end();
});
