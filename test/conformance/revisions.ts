import { TaskPhase } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { emptyWriteSet, type StorageBackend, type StoredTask } from "../../server/src/store/backend.js";
import { WriteView } from "../../server/src/store/decide/view.js";
import {
  ADDED,
  chunk,
  commitWrites,
  DELETED,
  decide,
  deleteTasks,
  insertTasks,
  MODIFIED,
  makeRun,
  makeRunner,
  makeTask,
  type OpenBackend,
  recordCommits,
  revisionsOf,
  taskId,
  taskWrite,
  updateTasks,
  useBackend,
  wholeJournal,
  withStatus,
  writeSet,
} from "./fixtures.js";

/** Nothing of a refused transaction is anywhere: no row, no journal entry, the head where it was. */
async function expectUntouched(backend: StorageBackend, head: number, absentTaskIds: string[]): Promise<void> {
  expect(await backend.head()).toBe(head);
  expect(revisionsOf(await wholeJournal(backend)).at(-1) ?? 0).toBe(head);
  for (const id of absentTaskIds) expect(await backend.getTask(id)).toBeUndefined();
}

/** What every later transaction is offered: the next revision after the head. */
const nextFirstRevision = (backend: StorageBackend) =>
  backend.transact(async (tx) => ({ writes: emptyWriteSet(), result: tx.firstRevision }));

export function revisionTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  describe("revisions", () => {
    it("an empty backend has head 0, and its first transaction starts at revision 1", async () => {
      const { backend } = fresh;
      expect(await backend.head()).toBe(0);
      expect(await nextFirstRevision(backend)).toBe(1);
    });

    it("every task change gets the next revision: consecutive, gap-free, from after the head", async () => {
      const { backend } = fresh;
      const [a, b, c] = await insertTasks(backend, [
        { task: makeTask(1) },
        { task: makeTask(2) },
        { task: makeTask(3) },
      ]);
      expect([a!.revision, b!.revision, c!.revision]).toEqual([1, 2, 3]);
      expect(await backend.head()).toBe(3);
      expect(await nextFirstRevision(backend)).toBe(4);

      await updateTasks(backend, [{ task: withStatus(a!, TaskPhase.TASK_PHASE_RUNNING, "r") }]);
      await deleteTasks(backend, [b!.id]);
      const journal = await wholeJournal(backend);
      expect(journal.map((change) => [change.revision, change.type, change.task.id])).toEqual([
        [1, ADDED, a!.id],
        [2, ADDED, b!.id],
        [3, ADDED, c!.id],
        [4, MODIFIED, a!.id],
        [5, DELETED, b!.id],
      ]);
      expect(await backend.head()).toBe(5);
    });

    it("a transaction without task changes keeps the head and publishes nothing", async () => {
      const { backend } = fresh;
      await insertTasks(backend, [{ task: makeTask(1) }]);
      const batches = recordCommits(backend);
      await commitWrites(backend, writeSet({ runners: [{ runner: makeRunner(1, "alpha") }] }));
      expect(await backend.head()).toBe(1);
      expect(batches).toEqual([]);
      expect((await backend.getRunner(makeRunner(1, "alpha").id))?.name).toBe("alpha");
    });

    const refusals: [string, (first: number) => number[]][] = [
      ["skips a revision", (first) => [first, first + 2]],
      ["repeats a revision", (first) => [first, first]],
      ["starts at a revision already committed", (first) => [first - 1, first]],
      ["starts after the next revision", (first) => [first + 1, first + 2]],
    ];
    for (const [what, revisions] of refusals) {
      it(`a write set that ${what} is refused, and nothing of it is written or published`, async () => {
        const { backend } = fresh;
        const [owner] = await insertTasks(backend, [{ task: makeTask(1) }]);
        const batches = recordCommits(backend);
        const run = makeRun(owner!, 1, 1);
        const refused = backend.transact(async (tx) => {
          const [r1, r2] = revisions(tx.firstRevision);
          return {
            writes: writeSet({
              tasks: [taskWrite(makeTask(2), ADDED, r1!), taskWrite(makeTask(3), ADDED, r2!)],
              runs: [run],
              idempotencyKeys: [{ requestId: "req-1", taskId: taskId(2), specHash: "h", createTimeMs: 1 }],
              outputChunks: [chunk(run.id, 1, 0, "out")],
              runners: [{ runner: makeRunner(1, "alpha") }],
            }),
            result: undefined,
          };
        });
        await expect(refused).rejects.toThrow();
        await expectUntouched(backend, 1, [taskId(2), taskId(3)]);
        expect(await backend.getRun(run.id)).toBeUndefined();
        expect(await backend.readOutput(run.id, 0, 10)).toEqual([]);
        expect(await backend.getRunner(makeRunner(1, "alpha").id)).toBeUndefined();
        const keys = await backend.transact(async (tx) => ({
          writes: emptyWriteSet(),
          result: (await tx.read({ idempotencyKeys: ["req-1"] })).idempotencyKeys.get("req-1"),
        }));
        expect(keys).toBeNull();
        expect(batches).toEqual([]);
        expect(await nextFirstRevision(backend)).toBe(2);
      });
    }

    it("head() follows each commit", async () => {
      const { backend } = fresh;
      for (let n = 1; n <= 3; n++) {
        await insertTasks(backend, [{ task: makeTask(2 * n) }, { task: makeTask(2 * n + 1) }]);
        expect(await backend.head()).toBe(2 * n);
      }
    });
  });

  describe("onCommit", () => {
    it("each listener gets each committed batch once, in revision order", async () => {
      const { backend } = fresh;
      const first = recordCommits(backend);
      const second = recordCommits(backend);
      const [a] = await insertTasks(backend, [{ task: makeTask(1) }, { task: makeTask(2) }]);
      await updateTasks(backend, [{ task: withStatus(a!, TaskPhase.TASK_PHASE_RUNNING, "r") }]);
      for (const batches of [first, second]) {
        expect(batches.map(revisionsOf)).toEqual([[1, 2], [3]]);
        expect(batches.flat().map((change) => change.type)).toEqual([ADDED, ADDED, MODIFIED]);
        expect(batches[1]![0]!.task.status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
      }
    });

    it("a listener is called only once its batch is committed: what it reads then is there", async () => {
      const { backend } = fresh;
      const seen: Promise<[StoredTask | undefined, number]>[] = [];
      const stop = backend.onCommit((changes) => {
        for (const change of changes) seen.push(Promise.all([backend.getTask(change.task.id), backend.head()]));
      });
      try {
        await insertTasks(backend, [{ task: makeTask(1) }, { task: makeTask(2) }]);
      } finally {
        stop();
      }
      const reads = await Promise.all(seen);
      expect(reads.map(([stored]) => stored?.task.id)).toEqual([taskId(1), taskId(2)]);
      for (const [, head] of reads) expect(head).toBe(2);
    });

    it("a listener that stopped listening gets nothing more", async () => {
      const { backend } = fresh;
      const batches: number[][] = [];
      const stop = backend.onCommit((changes) => batches.push(revisionsOf(changes)));
      await insertTasks(backend, [{ task: makeTask(1) }]);
      stop();
      await insertTasks(backend, [{ task: makeTask(2) }]);
      expect(batches).toEqual([[1]]);
    });
  });

  describe("failed transactions", () => {
    it("work that throws writes nothing, publishes nothing, and keeps the head", async () => {
      const { backend } = fresh;
      await insertTasks(backend, [{ task: makeTask(1) }]);
      const batches = recordCommits(backend);
      const failed = decide(backend, (view) => {
        view.insertTask(makeTask(2), "none");
        view.putRunner(makeRunner(1, "alpha"));
        throw new Error("decided against it");
      });
      await expect(failed).rejects.toThrow("decided against it");
      await expectUntouched(backend, 1, [taskId(2)]);
      expect(await backend.getRunner(makeRunner(1, "alpha").id)).toBeUndefined();
      expect(batches).toEqual([]);
      expect(await nextFirstRevision(backend)).toBe(2);
    });

    it("work that throws after reading releases the backend for the next transaction", async () => {
      const { backend } = fresh;
      const failed = backend.transact(async (tx) => {
        await tx.read({ tasks: [taskId(1)] });
        throw new Error("gave up");
      });
      await expect(failed).rejects.toThrow("gave up");
      const [stored] = await insertTasks(backend, [{ task: makeTask(1) }]);
      expect(stored!.revision).toBe(1);
    });

    it("a write that fails to apply (a task id stored twice) writes nothing of its transaction", async () => {
      const { backend } = fresh;
      await insertTasks(backend, [{ task: makeTask(1) }]);
      const batches = recordCommits(backend);
      const failed = decide(backend, (view) => {
        view.insertTask(makeTask(2), "none");
        view.putRunner(makeRunner(1, "alpha"));
        view.insertTask(makeTask(1), "none"); // already stored: the apply fails here
      });
      await expect(failed).rejects.toThrow();
      await expectUntouched(backend, 1, [taskId(2)]);
      expect(await backend.getRunner(makeRunner(1, "alpha").id)).toBeUndefined();
      expect(batches).toEqual([]);
      const [next] = await insertTasks(backend, [{ task: makeTask(3) }]);
      expect(next!.revision).toBe(2);
    });

    for (const [what, type] of [
      ["a change", MODIFIED],
      ["a deletion", DELETED],
    ] as const) {
      it(`${what} of a task that is not stored is refused (it would journal a task that is not there)`, async () => {
        const { backend } = fresh;
        await insertTasks(backend, [{ task: makeTask(1) }]);
        const refused = backend.transact(async (tx) => ({
          writes: writeSet({ tasks: [taskWrite(makeTask(9), type, tx.firstRevision)] }),
          result: undefined,
        }));
        await expect(refused).rejects.toThrow();
        await expectUntouched(backend, 1, [taskId(9)]);
      });
    }
  });

  describe("serialisation", () => {
    it("two transactions started together run one after the other: the second reads the first's writes", async () => {
      const { backend } = fresh;
      const order: string[] = [];
      let secondStarted = () => {};
      const secondStarts = new Promise<void>((resolve) => (secondStarted = resolve));
      const first = backend.transact(async (tx) => {
        order.push("first reads");
        const view = new WriteView(await tx.read({ tasks: [taskId(1)] }), tx.firstRevision);
        // A backend that ran both at once would start the second's work now; a serialising one never does.
        await Promise.race([secondStarts, new Promise((resolve) => setTimeout(resolve, 200))]); // bound: caps that wait
        order.push("first decides");
        view.insertTask(makeTask(1), "none");
        return { writes: view.writes, result: tx.firstRevision };
      });
      const second = backend.transact(async (tx) => {
        order.push("second reads");
        secondStarted();
        const snapshot = await tx.read({ tasks: [taskId(1)] });
        return {
          writes: emptyWriteSet(),
          result: { firstRevision: tx.firstRevision, seen: snapshot.tasks.get(taskId(1)) },
        };
      });
      expect(await first).toBe(1);
      const { firstRevision, seen } = await second;
      expect(order).toEqual(["first reads", "first decides", "second reads"]);
      expect(seen?.task.id).toBe(taskId(1));
      expect(firstRevision).toBe(2);
    });

    it("a transaction queued behind one that fails runs, from the same revision", async () => {
      const { backend } = fresh;
      const failing = decide(backend, (view) => {
        view.insertTask(makeTask(1), "none");
        throw new Error("refused");
      });
      const queued = insertTasks(backend, [{ task: makeTask(2) }]);
      await expect(failing).rejects.toThrow("refused");
      const [stored] = await queued;
      expect(stored!.revision).toBe(1);
      expect(await backend.getTask(taskId(1))).toBeUndefined();
    });
  });
}
