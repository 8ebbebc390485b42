import {
  EventType,
  embedded,
  Runner,
  RunnerSelector,
  runnerSelector,
  SelectorSyntaxError,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
  TaskSpec,
  TERMINAL_PHASES,
  wasm,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

/** Specs, filters and options written the way a user naturally writes them, against a real server. */
describe("SDK inputs", () => {
  let server: TestServer;
  let client: SupervisorClient;
  const runners: Runner[] = [];
  const ranOn = async (task: Task) => (await client.listRuns(task.id)).map((run) => run.runnerName);

  beforeAll(async () => {
    server = await startTestServer();
    client = new SupervisorClient({ address: server.address });
    for (const [name, labels] of [
      ["inputs-gpu", { inputs: "a", gpu: "true" }],
      ["inputs-cpu", { inputs: "b" }],
    ] as const) {
      const runner = new Runner({ address: server.address, name, labels, capacity: 4, log: () => {} });
      runner.handle("noop", () => ({ ok: true }));
      await runner.start();
      runners.push(runner);
    }
  });
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    client.close();
    await server.close();
  });

  it("a RunnerSelector with matchExpressions left out routes the task", async () => {
    const task = await client.submit(embedded("noop", {}, { runnerSelector: { matchLabels: { gpu: "true" } } }));
    expect(task.spec!.runnerSelector).toEqual({ matchLabels: { gpu: "true" }, matchExpressions: [] });
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(await ranOn(task)).toEqual(["inputs-gpu"]);
  });

  it("a spec helper takes the runner selector as a string", async () => {
    const task = await client.submit(embedded("noop", {}, { runnerSelector: "inputs in (a,b),!gpu" }));
    expect(task.spec!.runnerSelector).toEqual(runnerSelector("inputs in (a,b),!gpu"));
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(await ranOn(task)).toEqual(["inputs-cpu"]);
  });

  it("an empty selector string means any runner, like leaving it out", () => {
    expect(subprocess("true", [], { runnerSelector: " " })).toEqual(subprocess("true"));
  });

  it("a spec helper puts its exec options in the exec and every other option in the spec", () => {
    const options = {
      slot: "s",
      labels: { team: "infra" },
      priority: 3,
      timeout: { seconds: 5, nanos: 0 },
      runnerSelector: { matchLabels: { gpu: "true" } },
    };
    const env = { HOME: "/tmp" };
    expect(subprocess("ls", ["-l"], { ...options, env, workingDir: "/srv" })).toEqual(
      TaskSpec.fromPartial({
        ...options,
        exec: { $case: "subprocess", value: { command: "ls", args: ["-l"], env, workingDir: "/srv" } },
      }),
    );
    expect(wasm("m.wasm", ["a"], { ...options, env })).toEqual(
      TaskSpec.fromPartial({ ...options, exec: { $case: "wasm", value: { modulePath: "m.wasm", args: ["a"], env } } }),
    );
    expect(embedded("h", { n: 1 }, options)).toEqual(
      TaskSpec.fromPartial({ ...options, exec: { $case: "embedded", value: { handler: "h", payload: { n: 1 } } } }),
    );
    expect(subprocess("true", [], { runnerSelector: "gpu" }).runnerSelector).toEqual(runnerSelector("gpu"));
  });

  it("a selector string that does not parse throws before any call, naming the position", () => {
    const attempt = () => subprocess("true", [], { runnerSelector: "gpu,,spot" });
    expect(attempt).toThrow(SelectorSyntaxError);
    expect(attempt).toThrow(/expected a label key, found "," at position 4/);
  });

  it("submit takes a spec with every optional field left out", async () => {
    const task = await client.submit({ exec: { $case: "embedded", value: { handler: "noop" } } });
    expect(task.spec).toMatchObject({ labels: {}, slot: "", exec: { $case: "embedded" } });
    expect((await client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("submitBatch takes partial specs and { spec, requestId } items", async () => {
    const tasks = await client.submitBatch([
      { exec: { $case: "subprocess", value: { command: "true" } }, labels: { inputs: "batch" } },
      { spec: { exec: { $case: "embedded", value: { handler: "noop" } } }, requestId: "inputs-batch-1" },
    ]);
    expect(tasks.map((t) => t.spec!.exec?.$case)).toEqual(["subprocess", "embedded"]);
    expect(tasks[1]!.requestId).toBe("inputs-batch-1");
    expect(tasks[0]!.spec!.exec).toEqual({
      $case: "subprocess",
      value: { command: "true", args: [], env: {}, workingDir: "" },
    });
  });

  it("cancel takes a reason, or options with a reason", async () => {
    const nowhere = { runnerSelector: "inputs=nowhere" };
    const [a, b] = await client.submitBatch([subprocess("true", [], nowhere), subprocess("true", [], nowhere)]);
    expect((await client.get(a!.id)).status!.reason).toBe(TaskReason.NO_MATCHING_RUNNER);
    const byOptions = await client.cancel(a!.id, { reason: "options form", deadlineMs: 5_000 });
    const byString = await client.cancel(b!.id, "positional form");
    expect([byOptions.status, byString.status]).toMatchObject([
      { phase: TaskPhase.TASK_PHASE_CANCELED, message: "options form" },
      { phase: TaskPhase.TASK_PHASE_CANCELED, message: "positional form" },
    ]);
  });

  describe("list, listPage, watch and informer take { filter, ... }", () => {
    const filter = { labelSelector: "inputs=query" };
    let tasks: Task[];
    beforeAll(async () => {
      tasks = await client.submitBatch(
        [1, 2, 3].map((n) => embedded("noop", { n }, { labels: { inputs: "query", n: String(n) } })),
      );
      await Promise.all(tasks.map((t) => client.waitFor(t.id)));
    });
    const newestFirst = () => tasks.map((t) => t.id).reverse();
    const ids = async (iterable: AsyncIterable<Task>) => {
      const seen: string[] = [];
      for await (const task of iterable) seen.push(task.id);
      return seen;
    };

    it("list and listPage filter and page the same way", async () => {
      expect(await ids(client.list({ filter: { ...filter, phases: TERMINAL_PHASES }, pageSize: 2 }))).toEqual(
        newestFirst(),
      );
      expect(await ids(client.list({ filter: { ...filter, phases: [TaskPhase.TASK_PHASE_PENDING] } }))).toEqual([]);
      const first = await client.listPage({ filter, pageSize: 2 });
      const second = await client.listPage({ filter, pageSize: 2, pageToken: first.nextPageToken });
      expect([...first.tasks, ...second.tasks].map((t) => t.id)).toEqual(newestFirst());
      expect(second.nextPageToken).toBe("");
    });

    it("the 0.1 shapes list(filter, options) and list(filter) still work", async () => {
      expect(await ids(client.list(filter, { pageSize: 2 }))).toEqual(newestFirst());
      expect(await ids(client.list(filter))).toEqual(newestFirst());
      expect(await ids(client.list({}, { pageSize: 1000 }))).toEqual(expect.arrayContaining(newestFirst()));
    });

    it("watch streams only the filter's changes from a revision on", async () => {
      const { revision } = await client.listPage({ filter, pageSize: 1 });
      const controller = new AbortController();
      const seen: Task[] = [];
      const watching = (async () => {
        for await (const event of client.watch({ filter, sinceRevision: revision, signal: controller.signal })) {
          if (event.type === EventType.EVENT_TYPE_BOOKMARK) continue;
          seen.push(event.task!);
          if (event.task!.spec!.labels.n === "last" && TERMINAL_PHASES.includes(event.task!.status!.phase))
            controller.abort();
        }
      })();
      await client.submit(embedded("noop", {}, { labels: { inputs: "other" } }));
      const last = await client.submit(embedded("noop", {}, { labels: { inputs: "query", n: "last" } }));
      await watching;
      expect(new Set(seen.map((t) => t.id))).toEqual(new Set([last.id]));
      expect(seen[0]!.revision).toBeGreaterThan(revision);
    });

    it("informer: the new shape, the 0.1 shape, and a signal that stops it", async () => {
      const added: string[] = [];
      const controller = new AbortController();
      const informer = client.informer({ filter, signal: controller.signal, onAdd: (t) => added.push(t.id) });
      const legacyAdded: string[] = [];
      const legacy = client.informer(filter, { onAdd: (t) => legacyAdded.push(t.id) });
      await Promise.all([informer.synced, legacy.synced]);
      expect([...informer.tasks.keys()].sort()).toEqual([...legacy.tasks.keys()].sort());
      expect(added.sort()).toEqual(legacyAdded.sort());
      expect(added).toEqual(expect.arrayContaining(tasks.map((t) => t.id)));

      controller.abort();
      await informer.stop();
      const later = await client.submit(embedded("noop", {}, { labels: { inputs: "query", n: "later" } }));
      await waitUntil(() => legacy.tasks.has(later.id), "the live informer to see the new task"); // …
      expect(legacy.tasks.has(later.id)).toBe(true); // the live informer saw it…
      expect(informer.tasks.has(later.id)).toBe(false); // …the aborted one no longer watches
      await legacy.stop();
    });
  });

  it("spec helpers give whole ts-proto messages", () => {
    expect(subprocess("true", [], { runnerSelector: { matchLabels: { gpu: "true" } } }).runnerSelector).toEqual(
      RunnerSelector.fromPartial({ matchLabels: { gpu: "true" } }),
    );
  });
});
