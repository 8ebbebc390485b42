import { RunPhase, type Task, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import type { StorageBackend } from "../../server/src/store/backend.js";
import {
  decide,
  deleteTasks,
  insertTasks,
  makeRun,
  makeTask,
  type OpenBackend,
  revisionsOf,
  taskId,
  updateTasks,
  useBackend,
  wholeJournal,
  withStatus,
} from "./fixtures.js";

const HOUR_MS = 3_600_000;
/** A cutoff every journal entry written by this test is older than. */
const afterEverything = () => Date.now() + HOUR_MS;

/** Six changes: tasks 1..4 stored, 1 and 2 changed. */
async function sixChanges(backend: StorageBackend): Promise<Task[]> {
  const stored = await insertTasks(
    backend,
    [1, 2, 3, 4].map((n) => ({ task: makeTask(n) })),
  );
  await updateTasks(backend, [
    { task: withStatus(stored[0]!, TaskPhase.TASK_PHASE_RUNNING, "r") },
    { task: withStatus(stored[1]!, TaskPhase.TASK_PHASE_RUNNING, "r") },
  ]);
  return stored;
}

const compactThrough = (backend: StorageBackend, revision: number) =>
  decide(backend, (view) => view.compactJournalThrough(revision));

const sortedIds = (tasks: readonly Task[]) => tasks.map((task) => task.id).sort();

export function maintenanceTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  describe("journal compaction", () => {
    it("journalCompactionBound: the newest revision keepRevisions or more behind the head, in the oldest batch", async () => {
      const { backend } = fresh;
      const startedMs = Date.now() - HOUR_MS;
      expect(await backend.journalCompactionBound(0, afterEverything(), 100)).toBe(0);
      await sixChanges(backend);
      expect(await backend.journalCompactionBound(2, afterEverything(), 100)).toBe(4);
      expect(await backend.journalCompactionBound(0, afterEverything(), 100)).toBe(6);
      expect(await backend.journalCompactionBound(0, afterEverything(), 3)).toBe(3);
      expect(await backend.journalCompactionBound(6, afterEverything(), 100)).toBe(0);
      expect(await backend.journalCompactionBound(10, afterEverything(), 100)).toBe(0);
      // Nothing was written before the test began: nothing is old enough.
      expect(await backend.journalCompactionBound(0, startedMs, 100)).toBe(0);
    });

    it("compacting moves compactedThrough; readJournal skips what went; head and tasks stay", async () => {
      const { backend } = fresh;
      const stored = await sixChanges(backend);
      expect(await backend.compactedThrough()).toBe(0);
      await compactThrough(backend, await backend.journalCompactionBound(2, afterEverything(), 100));
      expect(await backend.compactedThrough()).toBe(4);
      expect(revisionsOf(await wholeJournal(backend))).toEqual([5, 6]);
      expect(revisionsOf(await backend.readJournal(2, 10))).toEqual([5, 6]);
      expect(await backend.head()).toBe(6);
      for (const task of stored) expect(await backend.getTask(task.id)).toBeDefined();
      expect(await backend.journalCompactionBound(0, afterEverything(), 1)).toBe(5);
    });

    it("compacting the whole journal keeps the head: the next change gets the next revision", async () => {
      const { backend } = fresh;
      await sixChanges(backend);
      await compactThrough(backend, 6);
      expect(await wholeJournal(backend)).toEqual([]);
      expect(await backend.head()).toBe(6);
      expect(await backend.compactedThrough()).toBe(6);
      expect((await backend.listTasks({ limit: 1 })).revision).toBe(6);
      const [next] = await insertTasks(backend, [{ task: makeTask(5) }]);
      expect(next!.revision).toBe(7);
      expect(revisionsOf(await wholeJournal(backend))).toEqual([7]);
    });

    it("compactedThrough never goes back", async () => {
      const { backend } = fresh;
      await sixChanges(backend);
      await compactThrough(backend, 4);
      await compactThrough(backend, 2);
      expect(await backend.compactedThrough()).toBe(4);
      expect(revisionsOf(await wholeJournal(backend))).toEqual([5, 6]);
    });
  });

  it("expiredTasks: terminal tasks finished before the cutoff, oldest first, at most the limit", async () => {
    const { backend } = fresh;
    await insertTasks(backend, [
      { task: makeTask(1, { phase: TaskPhase.TASK_PHASE_SUCCEEDED, finishMs: 5000 }) },
      { task: makeTask(2, { phase: TaskPhase.TASK_PHASE_FAILED, finishMs: 1000 }) },
      { task: makeTask(3, { phase: TaskPhase.TASK_PHASE_CANCELED, finishMs: 3000 }) },
      { task: makeTask(4) },
      { task: makeTask(5, { phase: TaskPhase.TASK_PHASE_RUNNING, runnerId: "r" }) },
      { task: makeTask(6, { phase: TaskPhase.TASK_PHASE_SUCCEEDED, finishMs: 9000 }) },
    ]);
    const expired = async (cutoffMs: number, limit: number) =>
      (await backend.expiredTasks(cutoffMs, limit)).map((task) => task.id);
    expect(await expired(6000, 10)).toEqual([taskId(2), taskId(3), taskId(1)]);
    expect(await expired(6000, 2)).toEqual([taskId(2), taskId(3)]);
    expect(await expired(3000, 10)).toEqual([taskId(2)]);
    expect(await expired(1000, 10)).toEqual([]);
    const [task] = await backend.expiredTasks(2000, 1);
    expect(task).toEqual((await backend.getTask(taskId(2)))!.task);
  });

  it("dispatchableTasks: the pending tasks free to run, not those queued behind a slot owner", async () => {
    const { backend } = fresh;
    await insertTasks(backend, [
      { task: makeTask(1) },
      { task: makeTask(2, { slot: "a" }), slotState: "owner" },
      { task: makeTask(3, { slot: "a" }), slotState: "queued" },
      { task: makeTask(4, { phase: TaskPhase.TASK_PHASE_RUNNING, runnerId: "r" }) },
      { task: makeTask(5, { phase: TaskPhase.TASK_PHASE_SUCCEEDED }) },
      { task: makeTask(6, { priority: 5 }) },
    ]);
    const dispatchable = await backend.dispatchableTasks();
    expect(sortedIds(dispatchable)).toEqual([taskId(1), taskId(2), taskId(6)]);
    for (const task of dispatchable) expect(task).toEqual((await backend.getTask(task.id))!.task);
  });

  it("activeRuns: every assigned or running run, of every task", async () => {
    const { backend } = fresh;
    const [one, two] = await insertTasks(backend, [{ task: makeTask(1) }, { task: makeTask(2) }]);
    const phases = [
      RunPhase.RUN_PHASE_SUCCEEDED,
      RunPhase.RUN_PHASE_FAILED,
      RunPhase.RUN_PHASE_TIMEOUT,
      RunPhase.RUN_PHASE_CANCELED,
      RunPhase.RUN_PHASE_LOST,
      RunPhase.RUN_PHASE_ASSIGNED,
    ];
    const runs = [
      ...phases.map((phase, index) => makeRun(one!, 1, index + 1, phase)),
      makeRun(two!, 2, 1, RunPhase.RUN_PHASE_RUNNING),
    ];
    await decide(backend, (view) => {
      for (const run of runs) view.putRun(run);
    });
    const active = (await backend.activeRuns()).sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(active).toEqual([runs[5], runs[6]].sort((a, b) => (a!.id < b!.id ? -1 : 1)));
  });

  it("newestTaskId: undefined when empty, then the largest id ever stored, deleted or not", async () => {
    const { backend } = fresh;
    expect(await backend.newestTaskId()).toBeUndefined();
    await insertTasks(backend, [{ task: makeTask(3) }, { task: makeTask(9) }, { task: makeTask(5) }]);
    expect(await backend.newestTaskId()).toBe(taskId(9));
    await deleteTasks(backend, [taskId(9)]);
    expect(await backend.newestTaskId()).toBe(taskId(9));
  });
}
