import { Task, TaskPhase } from "@supervisor/sdk";
import { expect, it } from "vitest";
import { MAX_PAGE_BYTES } from "../../server/src/core/page-budget.js";
import type { ListTasksParams, StorageBackend, TaskPage } from "../../server/src/store/backend.js";
import {
  insertTasks,
  makeTask,
  type OpenBackend,
  type TaskShape,
  taskId,
  updateTasks,
  useBackend,
  withStatus,
} from "./fixtures.js";

/** Twelve tasks with ids 7, 14, …, 84 (so id prefixes select a few), over two slots, three phases, two runners. */
function shapeOf(i: number): TaskShape {
  const phase =
    i <= 4 ? TaskPhase.TASK_PHASE_PENDING : i <= 8 ? TaskPhase.TASK_PHASE_RUNNING : TaskPhase.TASK_PHASE_SUCCEEDED;
  return {
    slot: ["", "build", "", "deploy"][i % 4],
    phase,
    runnerId: i <= 4 ? "" : i % 2 ? "runner-a" : "runner-b",
    labels: { shard: i % 2 ? "odd" : "even", index: String(i) },
  };
}
const SEEDED = Array.from({ length: 12 }, (_, index) => makeTask(7 * (index + 1), shapeOf(index + 1)));

async function seed(backend: StorageBackend): Promise<Task[]> {
  return insertTasks(
    backend,
    SEEDED.map((task) => ({ task })),
  );
}

const newestFirst = (tasks: readonly Task[]) => tasks.map((task) => task.id).sort((a, b) => (a < b ? 1 : -1));

/** Every page of a list, following the cursors (at most `maxPages`). */
async function listAll(backend: StorageBackend, params: Omit<ListTasksParams, "beforeId">, maxPages = 200) {
  const pages: TaskPage[] = [];
  let beforeId: string | undefined;
  do {
    const page = await backend.listTasks({ ...params, beforeId });
    pages.push(page);
    beforeId = page.nextBeforeId;
  } while (beforeId !== undefined && pages.length < maxPages);
  expect(pages.at(-1)!.nextBeforeId, "the last page has no cursor").toBeUndefined();
  const ids = pages.flatMap((page) => page.items.map((item) => Task.decode(item.encoded).id));
  return { pages, ids };
}

const pageBytes = (page: TaskPage) => page.items.reduce((sum, item) => sum + item.encoded.length, 0);

export function listTaskTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  it("newest first, continued below beforeId; a short page has no cursor", async () => {
    const { backend } = fresh;
    await seed(backend);
    const first = await backend.listTasks({ limit: 5 });
    const firstIds = first.items.map((item) => Task.decode(item.encoded).id);
    expect(firstIds).toEqual(newestFirst(SEEDED).slice(0, 5));
    expect(first.nextBeforeId).toBe(firstIds.at(-1));
    const second = await backend.listTasks({ limit: 5, beforeId: first.nextBeforeId });
    expect(second.items.map((item) => Task.decode(item.encoded).id)).toEqual(newestFirst(SEEDED).slice(5, 10));
    const last = await backend.listTasks({ limit: 5, beforeId: second.nextBeforeId });
    expect(last.items.map((item) => Task.decode(item.encoded).id)).toEqual(newestFirst(SEEDED).slice(10));
    expect(last.nextBeforeId).toBeUndefined();
    const { ids } = await listAll(backend, { limit: 5 });
    expect(ids).toEqual(newestFirst(SEEDED));
  });

  it("beforeId need not be a stored id: the page holds the tasks below it", async () => {
    const { backend } = fresh;
    await seed(backend);
    const { ids } = await listAll(backend, { limit: 4 });
    const below = (await backend.listTasks({ limit: 100, beforeId: taskId(50) })).items;
    expect(below.map((item) => Task.decode(item.encoded).id)).toEqual(ids.filter((id) => id < taskId(50)));
    expect((await backend.listTasks({ limit: 100, beforeId: taskId(1) })).items).toEqual([]);
  });

  it("a NUL character in a filter or the cursor: no stored slot or runner has one, and the cursor compares by its bytes", async () => {
    // Filter values and cursors come from clients (a page token is theirs to forge); stored ids, slots and runner
    // ids never hold U+0000. PostgreSQL's text cannot hold it at all; SQLite's can, and compares it as a byte.
    const { backend } = fresh;
    await seed(backend);
    const ids = (page: TaskPage) => page.items.map((item) => Task.decode(item.encoded).id);
    expect(await backend.listTasks({ limit: 100, slot: "build\u0000" })).toMatchObject({ items: [] });
    expect(await backend.listTasks({ limit: 100, runnerId: "\u0000runner-a" })).toMatchObject({ items: [] });
    expect((await backend.listTasks({ limit: 100, slot: "\u0000", accept: () => true })).items).toEqual([]);
    // Below "<id>\0…" is that id and everything below it, as "<id>" < "<id>\0…" byte by byte.
    const below = await backend.listTasks({ limit: 100, beforeId: `${taskId(42)}\u0000x` });
    expect(ids(below)).toEqual(newestFirst(SEEDED).filter((id) => id <= taskId(42)));
    const accepted = await backend.listTasks({ limit: 100, beforeId: `${taskId(42)}\u0000`, accept: () => true });
    expect(ids(accepted)).toEqual(ids(below));
  });

  it("items are the tasks' stored bytes with their revisions", async () => {
    const { backend } = fresh;
    const stored = await seed(backend);
    const [changed] = await updateTasks(backend, [{ task: withStatus(stored[0]!, TaskPhase.TASK_PHASE_CANCELED) }]);
    const page = await backend.listTasks({ limit: 100 });
    for (const item of page.items) {
      const task = Task.decode(item.encoded);
      const row = await backend.getTask(task.id);
      expect(Buffer.from(item.encoded)).toEqual(Buffer.from(row!.encoded));
      expect(item.revision).toBe(task.revision);
    }
    const item = page.items.find((candidate) => Task.decode(candidate.encoded).id === changed!.id)!;
    expect(item.revision).toBe(13);
    expect(Task.decode(item.encoded)).toEqual(changed);
  });

  const filters: [string, Omit<ListTasksParams, "limit">, (task: Task) => boolean][] = [
    ["slot", { slot: "build" }, (task) => task.spec!.slot === "build"],
    [
      "one phase",
      { phases: [TaskPhase.TASK_PHASE_RUNNING] },
      (task) => task.status!.phase === TaskPhase.TASK_PHASE_RUNNING,
    ],
    [
      "several phases",
      { phases: [TaskPhase.TASK_PHASE_PENDING, TaskPhase.TASK_PHASE_SUCCEEDED] },
      (task) => task.status!.phase !== TaskPhase.TASK_PHASE_RUNNING,
    ],
    ["runnerId", { runnerId: "runner-a" }, (task) => task.status!.runnerId === "runner-a"],
    ["idPrefix", { idPrefix: taskId(48).slice(0, 35) }, (task) => task.id.startsWith(taskId(48).slice(0, 35))],
    [
      "slot and phase together",
      { slot: "deploy", phases: [TaskPhase.TASK_PHASE_RUNNING, TaskPhase.TASK_PHASE_SUCCEEDED] },
      (task) => task.spec!.slot === "deploy" && task.status!.phase !== TaskPhase.TASK_PHASE_PENDING,
    ],
    [
      "runnerId and idPrefix together",
      { runnerId: "runner-b", idPrefix: taskId(48).slice(0, 35) },
      (task) => task.status!.runnerId === "runner-b" && task.id.startsWith(taskId(48).slice(0, 35)),
    ],
  ];
  for (const [what, filter, matches] of filters) {
    it(`the ${what} filter lists exactly the tasks it matches, newest first, across pages`, async () => {
      const { backend } = fresh;
      await seed(backend);
      const expected = newestFirst(SEEDED.filter(matches));
      // The filter must select some tasks and leave others, or this test could not fail.
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(SEEDED.length);
      const { ids } = await listAll(backend, { ...filter, limit: 2 });
      expect(ids).toEqual(expected);
    });
  }

  it("accept sees each row's labels and filter columns, after the column filters; rows it rejects are skipped", async () => {
    const { backend } = fresh;
    await seed(backend);
    const seen = new Map<
      string,
      [Record<string, string>, { id: string; slot: string; phase: number; runnerId: string }]
    >();
    const { ids } = await listAll(backend, {
      limit: 2,
      slot: "deploy",
      accept: (labels, row) => {
        seen.set(row.id, [labels, row]);
        return labels.shard === "even";
      },
    });
    const deploy = SEEDED.filter((task) => task.spec!.slot === "deploy");
    expect(ids).toEqual(newestFirst(deploy.filter((task) => task.spec!.labels.shard === "even")));
    expect([...seen.keys()].sort()).toEqual(deploy.map((task) => task.id).sort());
    for (const task of deploy) {
      expect(seen.get(task.id)).toEqual([
        task.spec!.labels,
        { id: task.id, slot: task.spec!.slot, phase: task.status!.phase, runnerId: task.status!.runnerId },
      ]);
    }
    // Rows outside a slot show an empty slot and runner, not null.
    const plain = await backend.listTasks({
      limit: 1,
      accept: (_labels, row) => row.slot === "" && row.runnerId === "",
    });
    expect(plain.items.length).toBe(1);
  });

  it("a scanBudget bounds the rows accept sees per page: a short page with a cursor, and the cursors find every match", async () => {
    const { backend } = fresh;
    await seed(backend);
    const budget = 3;
    let calls = 0;
    const accept = (labels: Record<string, string>) => {
      calls++;
      return labels.shard === "even";
    };
    const first = await backend.listTasks({ limit: 10, scanBudget: budget, accept });
    expect(calls).toBeLessThanOrEqual(budget);
    expect(first.items.length).toBeLessThan(10);
    expect(first.nextBeforeId).toBeDefined();

    const pages: TaskPage[] = [];
    let beforeId: string | undefined;
    do {
      calls = 0;
      const page = await backend.listTasks({ limit: 10, scanBudget: budget, accept, beforeId });
      expect(calls).toBeLessThanOrEqual(budget);
      pages.push(page);
      beforeId = page.nextBeforeId;
    } while (beforeId !== undefined && pages.length < 50);
    expect(beforeId).toBeUndefined();
    expect(pages.length).toBeGreaterThanOrEqual(SEEDED.length / budget);
    const ids = pages.flatMap((page) => page.items.map((item) => Task.decode(item.encoded).id));
    expect(ids).toEqual(newestFirst(SEEDED.filter((task) => task.spec!.labels.shard === "even")));
  });

  it("a filter that accepts nothing, without a budget, gives one empty page without a cursor", async () => {
    const { backend } = fresh;
    await seed(backend);
    const page = await backend.listTasks({ limit: 5, accept: () => false });
    expect(page.items).toEqual([]);
    expect(page.nextBeforeId).toBeUndefined();
  });

  for (const filtered of [false, true]) {
    it(`pages of large tasks stop before MAX_PAGE_BYTES, and always carry their first task${filtered ? " (with accept)" : ""}`, async () => {
      const { backend } = fresh;
      const large = (n: number, bytes: number) => makeTask(n, { args: ["x".repeat(bytes)] });
      const MiB = 1024 * 1024;
      // Newest first: 6 and 5 fit a page; 4 alone is larger than a page; then 3 and 2; then 1.
      const sizes = [1.1 * MiB, 1.1 * MiB, 1.1 * MiB, MAX_PAGE_BYTES + 64 * 1024, 1.1 * MiB, 1.1 * MiB];
      const tasks = sizes.map((bytes, index) => large(index + 1, Math.round(bytes)));
      await insertTasks(
        backend,
        tasks.map((task) => ({ task })),
      );
      const { pages, ids } = await listAll(backend, { limit: 10, ...(filtered ? { accept: () => true } : {}) });
      expect(ids).toEqual(newestFirst(tasks));
      pages.forEach((page, index) => {
        expect(page.items.length).toBeGreaterThan(0);
        if (page.items.length > 1) expect(pageBytes(page)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
        const next = pages[index + 1]?.items[0];
        // Cut by bytes (not by the limit): the next task would not have fit.
        if (next) expect(pageBytes(page) + next.encoded.length).toBeGreaterThan(MAX_PAGE_BYTES);
      });
      const alone = pages.find((page) => page.items.some((item) => Task.decode(item.encoded).id === taskId(4)))!;
      expect(alone.items.length).toBe(1);
      expect(alone.nextBeforeId).toBe(taskId(4));
    });
  }

  it("a page's revision is the head it was read at", async () => {
    const { backend } = fresh;
    expect((await backend.listTasks({ limit: 10 })).revision).toBe(0);
    const stored = await seed(backend);
    expect((await backend.listTasks({ limit: 1 })).revision).toBe(12);
    await updateTasks(backend, [{ task: withStatus(stored[3]!, TaskPhase.TASK_PHASE_RUNNING, "runner-a") }]);
    const page = await backend.listTasks({ limit: 3, phases: [TaskPhase.TASK_PHASE_RUNNING] });
    expect(page.revision).toBe(13);
    expect(page.revision).toBe(await backend.head());
    for (const item of page.items) expect(item.revision).toBeLessThanOrEqual(page.revision);
  });
}
