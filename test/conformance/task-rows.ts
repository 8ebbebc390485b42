import { TaskPhase } from "@supervisor/sdk";
import { expect, it } from "vitest";
import { attributesOf } from "../../server/src/core/task-filter.js";
import type { StorageBackend } from "../../server/src/store/backend.js";
import {
  ADDED,
  chunk,
  commitWrites,
  DELETED,
  decide,
  deleteTasks,
  encodingOf,
  insertTasks,
  MODIFIED,
  makeRun,
  makeTask,
  type OpenBackend,
  revisionsOf,
  taskId,
  taskWrite,
  updateTasks,
  useBackend,
  wholeJournal,
  withStatus,
  writeSet,
} from "./fixtures.js";

/** getTask, checked whole: the decoded task, its slot state, and bytes that are the task's encoding. */
async function expectStored(backend: StorageBackend, expected: ReturnType<typeof makeTask>, slotState: string) {
  const stored = await backend.getTask(expected.id);
  expect(stored).toBeDefined();
  expect(stored!.task).toEqual(expected);
  expect(stored!.slotState).toBe(slotState);
  expect(Buffer.from(stored!.encoded)).toEqual(encodingOf(expected));
}

export function taskRowTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  it("an inserted task reads back decoded, with its slot state and its encoding; a missing one is undefined", async () => {
    const { backend } = fresh;
    const [owner, queued, plain] = await insertTasks(backend, [
      { task: makeTask(1, { slot: "s", labels: { team: "web" }, priority: 5 }), slotState: "owner" },
      { task: makeTask(2, { slot: "s" }), slotState: "queued" },
      { task: makeTask(3) },
    ]);
    await expectStored(backend, owner!, "owner");
    await expectStored(backend, queued!, "queued");
    await expectStored(backend, plain!, "none");
    expect(await backend.getTask(taskId(4))).toBeUndefined();
  });

  it("getSlotOwner: the slot's owner (not its queued tasks), undefined for a slot nobody owns", async () => {
    const { backend } = fresh;
    const [owner] = await insertTasks(backend, [
      { task: makeTask(1, { slot: "s" }), slotState: "owner" },
      { task: makeTask(2, { slot: "s" }), slotState: "queued" },
      { task: makeTask(3, { slot: "q" }), slotState: "queued" },
    ]);
    const found = await backend.getSlotOwner("s");
    expect(found?.task).toEqual(owner);
    expect(found?.slotState).toBe("owner");
    expect(await backend.getSlotOwner("q")).toBeUndefined();
    expect(await backend.getSlotOwner("none")).toBeUndefined();
  });

  it("a task write without its bytes is stored with the task's own encoding", async () => {
    const { backend } = fresh;
    const task = { ...makeTask(1, { labels: { a: "1" } }), revision: 1 };
    await commitWrites(backend, writeSet({ tasks: [taskWrite(task, ADDED, 1)] }));
    await expectStored(backend, task, "none");
    const [entry] = await wholeJournal(backend);
    expect(entry!.task).toEqual(task);
    if (entry!.encoded) expect(Buffer.from(entry!.encoded)).toEqual(encodingOf(task));
  });

  it("an update replaces the row; its journal entry holds the new task and the filter attributes before", async () => {
    const { backend } = fresh;
    const [before] = await insertTasks(backend, [{ task: makeTask(1, { slot: "s", labels: { team: "web" } }) }]);
    const [running] = await updateTasks(backend, [
      { task: withStatus(before!, TaskPhase.TASK_PHASE_RUNNING, "runner-a"), slotState: "owner" },
    ]);
    expect(running!.revision).toBe(2);
    await expectStored(backend, running!, "owner");
    const [added, modified] = await wholeJournal(backend);
    expect(added).toMatchObject({ revision: 1, type: ADDED, task: before });
    expect(added!.previous).toBeUndefined();
    expect(modified).toMatchObject({ revision: 2, type: MODIFIED, task: running });
    expect(modified!.previous).toEqual(attributesOf(before!));
    if (modified!.encoded) expect(Buffer.from(modified!.encoded)).toEqual(encodingOf(running!));
  });

  it("a finished task leaves its slot: its slot state is none", async () => {
    const { backend } = fresh;
    const [owner] = await insertTasks(backend, [{ task: makeTask(1, { slot: "s" }), slotState: "owner" }]);
    const [done] = await updateTasks(backend, [
      { task: withStatus(owner!, TaskPhase.TASK_PHASE_FAILED), slotState: "none" },
    ]);
    await expectStored(backend, done!, "none");
  });

  it("a deleted task is gone with its runs and output; its journal entry holds its last state", async () => {
    const { backend } = fresh;
    const [task, other] = await insertTasks(backend, [{ task: makeTask(1) }, { task: makeTask(2) }]);
    const runs = [makeRun(task!, 1, 1), makeRun(task!, 1, 2), makeRun(other!, 2, 1)];
    await commitWrites(
      backend,
      writeSet({ runs, outputChunks: runs.map((run) => chunk(run.id, 1, 0, `output of ${run.id}`)) }),
    );
    await deleteTasks(backend, [task!.id]);
    expect(await backend.getTask(task!.id)).toBeUndefined();
    for (const run of runs.slice(0, 2)) {
      expect(await backend.getRun(run.id)).toBeUndefined();
      expect(await backend.readOutput(run.id, 0, 10)).toEqual([]);
      expect(await backend.outputExtents(run.id)).toEqual([]);
    }
    expect(await backend.getRunByAttempt(task!.id, 0)).toBeUndefined();
    expect(await backend.listTaskRuns(task!.id, 0, 10)).toEqual([]);
    // The other task keeps its own.
    expect(await backend.getRun(runs[2]!.id)).toEqual(runs[2]);
    expect((await backend.readOutput(runs[2]!.id, 0, 10)).length).toBe(1);

    const deleted = (await wholeJournal(backend)).at(-1)!;
    expect(deleted.type).toBe(DELETED);
    expect(deleted.revision).toBe(3);
    expect(deleted.task).toEqual({ ...task!, revision: 3 });
  });

  it("a task deleted and a new one stored in one transaction: the new one owns the slot", async () => {
    const { backend } = fresh;
    const [old] = await insertTasks(backend, [{ task: makeTask(1, { slot: "s" }), slotState: "owner" }]);
    await decide(
      backend,
      (view) => {
        view.deleteTask(view.task(old!.id)!.task);
        view.insertTask(makeTask(2, { slot: "s" }), "owner");
      },
      { tasks: [old!.id] },
    );
    expect(await backend.getTask(old!.id)).toBeUndefined();
    expect((await backend.getTask(taskId(2)))?.slotState).toBe("owner");
    expect((await wholeJournal(backend)).map((change) => change.type)).toEqual([ADDED, DELETED, ADDED]);
  });

  it("several changes of one task in one transaction: the row holds the last, the journal every one", async () => {
    const { backend } = fresh;
    const [stored] = await insertTasks(backend, [{ task: makeTask(1, { labels: { team: "web" } }) }]);
    const [added, done, changed] = await decide(
      backend,
      (view) => {
        const added = view.insertTask(makeTask(2), "none");
        const running = view.updateTask(withStatus(added, TaskPhase.TASK_PHASE_RUNNING, "runner-a"), added, "none");
        const done = view.updateTask(withStatus(running, TaskPhase.TASK_PHASE_SUCCEEDED), running, "none");
        const current = view.task(stored!.id)!.task;
        const first = view.updateTask(withStatus(current, TaskPhase.TASK_PHASE_RUNNING, "runner-b"), current, "none");
        const changed = view.updateTask(withStatus(first, TaskPhase.TASK_PHASE_PENDING), first, "none");
        const gone = view.insertTask(makeTask(3), "none");
        view.deleteTask(gone);
        return [added, done, changed];
      },
      { tasks: [stored!.id] },
    );
    await expectStored(backend, done!, "none");
    await expectStored(backend, changed!, "none");
    expect(await backend.getTask(taskId(3))).toBeUndefined();
    const journal = await wholeJournal(backend);
    expect(journal.map((change) => [change.revision, change.type, change.task.id])).toEqual([
      [1, ADDED, taskId(1)],
      [2, ADDED, taskId(2)],
      [3, MODIFIED, taskId(2)],
      [4, MODIFIED, taskId(2)],
      [5, MODIFIED, taskId(1)],
      [6, MODIFIED, taskId(1)],
      [7, ADDED, taskId(3)],
      [8, DELETED, taskId(3)],
    ]);
    expect(journal[2]!.previous).toEqual(attributesOf(added!));
    expect(journal[3]!.task).toEqual(done);
    expect(journal[5]!.previous?.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
  });

  it("a slot changes hands twice in one transaction, its next owner touched before the old one left", async () => {
    const { backend } = fresh;
    const [a, b, c] = await insertTasks(backend, [
      { task: makeTask(1, { slot: "s" }), slotState: "owner" },
      { task: makeTask(2, { slot: "s" }), slotState: "queued" },
      { task: makeTask(3, { slot: "s" }), slotState: "queued" },
    ]);
    const [lastA, lastB, lastC] = await decide(
      backend,
      (view) => {
        const task = (id: string) => view.task(id)!.task;
        // C changes first while still queued, so its row comes first in the batch: it must not
        // take the slot before A and B have left it (one owner per slot, checked at every row).
        view.updateTask(
          { ...task(c!.id), status: { ...task(c!.id).status!, message: "waiting" } },
          task(c!.id),
          "queued",
        );
        view.updateTask(withStatus(task(a!.id), TaskPhase.TASK_PHASE_SUCCEEDED), task(a!.id), "none");
        view.updateTask(withStatus(task(b!.id), TaskPhase.TASK_PHASE_RUNNING, "runner-a"), task(b!.id), "owner");
        view.updateTask(withStatus(task(b!.id), TaskPhase.TASK_PHASE_FAILED), task(b!.id), "none");
        view.updateTask(withStatus(task(c!.id), TaskPhase.TASK_PHASE_RUNNING, "runner-a"), task(c!.id), "owner");
        return [task(a!.id), task(b!.id), task(c!.id)];
      },
      { tasks: [a!.id, b!.id, c!.id] },
    );
    await expectStored(backend, lastA!, "none");
    await expectStored(backend, lastB!, "none");
    await expectStored(backend, lastC!, "owner");
    expect(revisionsOf(await wholeJournal(backend))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("a change after a deletion of the same task in one transaction is refused, and nothing of it is written", async () => {
    const { backend } = fresh;
    const [task] = await insertTasks(backend, [{ task: makeTask(1) }]);
    const refused = backend.transact(async (tx) => ({
      writes: writeSet({
        tasks: [
          taskWrite(task!, DELETED, tx.firstRevision),
          taskWrite(withStatus(task!, TaskPhase.TASK_PHASE_RUNNING), MODIFIED, tx.firstRevision + 1),
        ],
      }),
      result: undefined,
    }));
    await expect(refused).rejects.toThrow();
    await expectStored(backend, task!, "none");
    expect(revisionsOf(await wholeJournal(backend))).toEqual([1]);
  });

  it("a slot handed on in one transaction by a task changed earlier in it: the old owner lets go first", async () => {
    // The queued task changes first and takes the slot last; folded into one row per task, its row comes before
    // the old owner's. A database that checks the one-owner-per-slot index row by row must still see the old
    // owner let go first (PostgreSQL's unique indexes are checked row by row, not at the end of the statement).
    const { backend } = fresh;
    // Stored queued task first, then its owner: whichever of the two rows the database visits first is the new one.
    const [queued] = await insertTasks(backend, [{ task: makeTask(2, { slot: "s" }), slotState: "queued" }]);
    const [owner] = await insertTasks(backend, [{ task: makeTask(1, { slot: "s" }), slotState: "owner" }]);
    const [, , next] = await decide(
      backend,
      (view) => {
        const waiting = view.updateTask(
          { ...queued!, status: { ...queued!.status!, message: "waiting for s" } },
          queued!,
          "queued",
        );
        const done = view.updateTask(withStatus(owner!, TaskPhase.TASK_PHASE_SUCCEEDED), owner!, "none");
        return [
          waiting,
          done,
          view.updateTask({ ...waiting, status: { ...waiting.status!, message: "owns s" } }, waiting, "owner"),
        ];
      },
      { tasks: [owner!.id, queued!.id] },
    );
    expect((await backend.getTask(owner!.id))?.slotState).toBe("none");
    await expectStored(backend, next!, "owner");
    // The index still holds: a second owner of the slot is refused, and nothing of its transaction is stored.
    await expect(decide(backend, (view) => view.insertTask(makeTask(3, { slot: "s" }), "owner"))).rejects.toThrow();
    expect(await backend.getTask(taskId(3))).toBeUndefined();
  });

  it("readJournal pages: entries after a revision, oldest first, at most the limit", async () => {
    const { backend } = fresh;
    await insertTasks(
      backend,
      [1, 2, 3, 4, 5].map((n) => ({ task: makeTask(n) })),
    );
    const page = await backend.readJournal(2, 2);
    expect(page.map((change) => [change.revision, change.task.id])).toEqual([
      [3, taskId(3)],
      [4, taskId(4)],
    ]);
    expect(await backend.readJournal(5, 10)).toEqual([]);
    expect((await backend.readJournal(4, 10)).map((change) => change.revision)).toEqual([5]);
  });
}
