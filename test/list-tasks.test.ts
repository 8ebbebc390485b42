import { status } from "@grpc/grpc-js";
import { ErrorReason, type ListTasksRequest, type Task, type TaskFilter, TaskPhase } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const list = (request: Partial<ListTasksRequest>) =>
  call(rpc(server.tasks, "listTasks"), { pageSize: 0, pageToken: "", ...request });
const batch = (
  count: number,
  labels: (i: number) => Record<string, string> = () => ({}),
  slot?: (i: number) => string,
) =>
  call(rpc(server.tasks, "batchSubmitTasks"), {
    requests: Array.from({ length: count }, (_, i) =>
      submitRequest(subprocessSpec("true", [], { labels: labels(i), slot: slot?.(i) ?? "" })),
    ),
    returnPartialSuccess: false,
  });

/** Every task matching the filter, following next_page_token to the end. */
async function listAll(
  filter: TaskFilter | undefined,
  pageSize: number,
  between?: () => Promise<unknown>,
): Promise<Task[]> {
  const all: Task[] = [];
  let pageToken = "";
  do {
    const page = await list({ filter, pageSize, pageToken });
    all.push(...page.tasks);
    pageToken = page.nextPageToken;
    await between?.();
  } while (pageToken);
  return all;
}

describe("ListTasks pagination", () => {
  it("pages through 2 500 tasks with concurrent inserts: none skipped, none repeated, newest first", async () => {
    const existing: string[] = [];
    for (let i = 0; i < 3; i++)
      existing.push(...(await batch(i < 2 ? 1000 : 500, () => ({ bulk: "yes" }))).tasks.map((t) => t.id));
    expect(existing).toHaveLength(2500);
    let inserted = 0;
    const seen = await listAll(
      { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "bulk=yes" },
      97,
      async () => {
        inserted += (await batch(25, () => ({ bulk: "yes" }))).tasks.length; // new tasks arrive between pages
      },
    );
    const ids = seen.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length); // nothing repeated
    const seenSet = new Set(ids);
    expect(existing.filter((id) => !seenSet.has(id))).toEqual([]); // nothing that existed was skipped
    expect([...ids].sort().reverse()).toEqual(ids); // newest first
    expect(inserted).toBeGreaterThan(0);
  });

  it("page_size 0 means 50, the maximum is 1000, and the last page has no token", async () => {
    await batch(1000);
    await batch(100);
    expect((await list({})).tasks).toHaveLength(50);
    const big = await list({ pageSize: 5000 });
    expect(big.tasks).toHaveLength(1000);
    expect(big.nextPageToken).not.toBe("");
    const tiny = await list({
      filter: { slot: "nobody-uses-this", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" },
    });
    expect(tiny).toMatchObject({ tasks: [], nextPageToken: "" });
  });

  it("every response carries the journal head revision", async () => {
    const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec()));
    const page = await list({ pageSize: 1 });
    expect(page.revision).toBeGreaterThanOrEqual(task!.revision);
    expect(page.tasks[0]!.revision).toBeLessThanOrEqual(page.revision);
  });
});

describe("ListTasks filters", () => {
  beforeAll(async () => {
    await batch(
      8,
      (i) => ({
        suite: "filters",
        env: i % 2 ? "prod" : "dev",
        ...(i % 4 === 0 ? { gpu: "true" } : {}),
        region: ["eu", "us", "ap", "eu"][i % 4]!,
      }),
      (i) => `filter-slot-${i}`,
    );
  });
  const labelsOf = async (labelSelector: string) =>
    (
      await listAll(
        {
          slot: "",
          phases: [],
          runnerId: "",
          idPrefix: "",
          parentId: "",
          labelSelector: `suite=filters,${labelSelector}`,
        },
        3,
      )
    ).map((t) => t.spec!.labels);

  it.each([
    ["env=prod", 4],
    ["env==prod", 4],
    ["env!=prod", 4],
    ["gpu", 2],
    ["!gpu", 6],
    ["region in (eu,us)", 6],
    ["region notin (eu)", 4],
    ["env=prod,region in (us,ap)", 2],
  ])("label selector %s matches %i tasks", async (selector, count) => {
    expect(await labelsOf(selector)).toHaveLength(count);
  });

  it("filters by slot and by phase", async () => {
    const bySlot = await list({
      filter: { slot: "filter-slot-3", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" },
    });
    expect(bySlot.tasks.map((t) => t.spec!.slot)).toEqual(["filter-slot-3"]);
    await call(rpc(server.tasks, "cancelTask"), { id: bySlot.tasks[0]!.id, reason: "" });
    const canceled = await listAll(
      {
        slot: "",
        phases: [TaskPhase.TASK_PHASE_CANCELED],
        runnerId: "",
        idPrefix: "",
        parentId: "",
        labelSelector: "suite=filters",
      },
      10,
    );
    expect(canceled.map((t) => t.spec!.slot)).toEqual(["filter-slot-3"]);
    const both = await listAll(
      {
        slot: "",
        phases: [TaskPhase.TASK_PHASE_CANCELED, TaskPhase.TASK_PHASE_PENDING],
        runnerId: "",
        idPrefix: "",
        parentId: "",
        labelSelector: "suite=filters",
      },
      10,
    );
    expect(both).toHaveLength(8);
  });

  it("filters by runner (none has run yet)", async () => {
    expect(
      (
        await list({
          filter: { slot: "", phases: [], runnerId: "runner-x", idPrefix: "", parentId: "", labelSelector: "" },
        })
      ).tasks,
    ).toEqual([]);
  });
});

describe("ListTasks bad input", () => {
  it("a malformed label selector is INVALID_ARGUMENT / LABEL_SELECTOR_INVALID at filter.label_selector", async () => {
    for (const selector of ["env in (a", "env=(", "=x", "a,,b", "region in ()", "bad key=1", "env notin a"]) {
      const error = await expectError(
        list({ filter: { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: selector } }),
        status.INVALID_ARGUMENT,
        ErrorReason.LABEL_SELECTOR_INVALID,
      );
      expect(error.fieldViolations[0]!.field, selector).toBe("filter.label_selector");
    }
  });

  it("a token reused with another filter is INVALID_ARGUMENT / PAGE_TOKEN_INVALID", async () => {
    await batch(5, () => ({ reuse: "a" }));
    const first = await list({
      pageSize: 2,
      filter: { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "reuse=a" },
    });
    expect(first.nextPageToken).not.toBe("");
    const error = await expectError(
      list({
        pageSize: 2,
        pageToken: first.nextPageToken,
        filter: { slot: "", phases: [], runnerId: "", idPrefix: "", parentId: "", labelSelector: "reuse=b" },
      }),
      status.INVALID_ARGUMENT,
      ErrorReason.PAGE_TOKEN_INVALID,
    );
    expect(error.fieldViolations[0]!.field).toBe("page_token");
  });

  it("a garbage token is INVALID_ARGUMENT / PAGE_TOKEN_INVALID", async () => {
    for (const token of ["garbage", Buffer.from('{"v":2}').toString("base64url")]) {
      await expectError(list({ pageToken: token }), status.INVALID_ARGUMENT, ErrorReason.PAGE_TOKEN_INVALID);
    }
  });

  it("ListTaskRuns: a token whose cursor is not a whole number is INVALID_ARGUMENT / PAGE_TOKEN_INVALID", async () => {
    const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec()));
    for (const after of ["..", "1.5", "-1", "99999999999999999999"]) {
      // Shaped like a token the server issues for this task, with a cursor it never writes.
      const pageToken = Buffer.from(JSON.stringify({ v: 1, after, filter: task!.id })).toString("base64url");
      const error = await expectError(
        call(rpc(server.tasks, "listTaskRuns"), { taskId: task!.id, pageSize: 10, pageToken }),
        status.INVALID_ARGUMENT,
        ErrorReason.PAGE_TOKEN_INVALID,
      );
      expect(error.fieldViolations[0]!.field).toBe("page_token");
    }
  });

  it("a negative page_size or an unknown phase is INVALID_ARGUMENT at the field", async () => {
    const negative = await expectError(list({ pageSize: -1 }), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(negative.fieldViolations[0]!.field).toBe("page_size");
    const phase = await expectError(
      list({
        filter: { slot: "", phases: [99 as TaskPhase], runnerId: "", idPrefix: "", parentId: "", labelSelector: "" },
      }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(phase.fieldViolations[0]!.field).toBe("filter.phases[0]");
  });
});
