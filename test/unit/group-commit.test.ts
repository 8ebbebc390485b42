import { rmSync } from "node:fs";
import { AdmissionPolicy, ErrorReason, type Task, type TaskSpec } from "@supervisor/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { specHash } from "../../server/src/core/task-spec.js";
import { DomainError } from "../../server/src/errors.js";
import type { ReadKeys, StorageBackend } from "../../server/src/store/backend.js";
import { NeedsRead } from "../../server/src/store/decide/view.js";
import { GroupCommit, type WriteRequest } from "../../server/src/store/group-commit.js";
import { openBackend } from "../../server/src/store/open-backend.js";
import { cancelWrite, submitWrite } from "../../server/src/store/writes.js";
import { BACKEND, newStore, type TestStore } from "../helpers/backend.js";
import { tempDir } from "../helpers/server.js";
import { DAY_MS, specOf, T0, taskId } from "../helpers/write-view.js";

const clock = { now: () => T0 };
const SETTINGS = { slotQueueLimit: 10, idempotencyTtlMs: DAY_MS };
const submit = (n: number, spec: TaskSpec = specOf()): WriteRequest<Task> =>
  submitWrite({ spec, requestId: "", specHash: specHash(spec), id: taskId(n) }, SETTINGS);

/** The real backend with its transact wrapped: to fail it, or to look inside a transaction. */
function wrapTransact(backend: StorageBackend, transact: StorageBackend["transact"]): StorageBackend {
  return new Proxy(backend, { get: (target, key) => (key === "transact" ? transact : Reflect.get(target, key)) });
}

let dir: string;
let store: TestStore;
let backend: StorageBackend;
/** The revisions of each published batch, in order. */
let published: number[][];

beforeEach(async () => {
  dir = tempDir("group-commit-");
  store = await newStore(dir);
  backend = await openBackend(loadConfig({ flags: { db: store.db, synchronous: "NORMAL" } }), clock);
  published = [];
  backend.onCommit((changes) => published.push(changes.map((change) => change.revision)));
});

afterEach(async () => {
  await backend.close();
  await store.drop();
  rmSync(dir, { recursive: true, force: true });
});

const journal = async () => (await backend.readJournal(0, 100)).map((change) => [change.revision, change.task.id]);

describe("GroupCommit", () => {
  it("a refused request fails alone; the others of its batch commit with gap-free revisions", async () => {
    const commits = new GroupCommit(backend, clock);
    const [first, busy, other] = await Promise.allSettled([
      commits.run(submit(1, specOf({ slot: "s" }))),
      commits.run(submit(2, specOf({ slot: "s" }))),
      commits.run(submit(3)),
    ]);
    expect(first).toMatchObject({ status: "fulfilled", value: { id: taskId(1), revision: 1 } });
    expect(other).toMatchObject({ status: "fulfilled", value: { id: taskId(3), revision: 2 } });
    expect(busy.status).toBe("rejected");
    const error = (busy as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ reason: ErrorReason.SLOT_BUSY, metadata: { owner_task_id: taskId(1) } });
    expect(published).toEqual([[1, 2]]);
    expect(await journal()).toEqual([
      [1, taskId(1)],
      [2, taskId(3)],
    ]);
    expect(await backend.getTask(taskId(2))).toBeUndefined();
  });

  it("answers a request only after its batch is committed and published", async () => {
    const commits = new GroupCommit(backend, clock);
    const events: string[] = [];
    backend.onCommit(() => events.push("published"));
    const task = await commits.run(submit(1)).then(async (task) => {
      events.push("answered");
      return task;
    });
    expect(events).toEqual(["published", "answered"]);
    expect((await backend.getTask(task.id))?.task.revision).toBe(1);
  });

  it("a commit that fails fails every request of its batch and writes nothing; the next batch goes on", async () => {
    const commits = new GroupCommit(backend, clock);
    await commits.run(submit(1));
    // Two new tasks with one id: the backend refuses the second row (SQLite's primary key; PostgreSQL's backend
    // before its one multi-row insert, which would fail the same way), so the whole transaction rolls back.
    const results = await Promise.allSettled([commits.run(submit(2)), commits.run(submit(2)), commits.run(submit(3))]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected", "rejected"]);
    const reasons = results.map((result) => (result as PromiseRejectedResult).reason);
    expect(reasons[0]).toBeInstanceOf(Error);
    expect(String(reasons[0].message)).toMatch(BACKEND === "sqlite" ? /UNIQUE/ : /added twice in one batch/);
    expect(new Set(reasons).size).toBe(1);
    expect(await backend.getTask(taskId(3))).toBeUndefined();
    expect(await backend.head()).toBe(1);
    expect(published).toEqual([[1]]);
    // The next batch starts from the committed head: no revision was lost to the failed one.
    expect((await commits.run(submit(4))).revision).toBe(2);
    expect(await journal()).toEqual([
      [1, taskId(1)],
      [2, taskId(4)],
    ]);
  });

  it("a backend whose transaction rejects fails the whole batch, and the next batch goes on", async () => {
    const diskFull = new Error("SQLITE_FULL: database or disk is full");
    let failNext = true;
    const flaky = wrapTransact(backend, (work) => {
      if (!failNext) return backend.transact(work);
      failNext = false;
      return Promise.reject(diskFull);
    });
    const commits = new GroupCommit(flaky, clock);
    const results = await Promise.allSettled([commits.run(submit(1)), commits.run(submit(2))]);
    expect(results).toEqual([
      { status: "rejected", reason: diskFull },
      { status: "rejected", reason: diskFull },
    ]);
    expect((await commits.run(submit(3))).revision).toBe(1);
    expect(published).toEqual([[1]]);
  });

  it("a decision that throws anything but a refusal is a bug: its batch fails and nothing is written", async () => {
    const commits = new GroupCommit(backend, clock);
    const bug = new TypeError("cannot read properties of undefined");
    const broken: WriteRequest<void> = {
      reads: {},
      decide: () => {
        throw bug;
      },
    };
    const results = await Promise.allSettled([commits.run(submit(1)), commits.run(broken)]);
    expect(results).toEqual([
      { status: "rejected", reason: bug },
      { status: "rejected", reason: bug },
    ]);
    expect(await backend.head()).toBe(0);
    expect(published).toEqual([]);
  });

  it("a NeedsRead is answered by a further read inside the batch's one transaction", async () => {
    const setup = new GroupCommit(backend, clock);
    await setup.run(submit(1, specOf({ slot: "s" })));
    await setup.run(submit(2, specOf({ slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE })));
    let transactions = 0;
    const reads: ReadKeys[] = [];
    const watched = wrapTransact(backend, (work) => {
      transactions++;
      return backend.transact((tx) =>
        work({
          firstRevision: tx.firstRevision,
          read: (keys) => {
            reads.push(keys);
            return tx.read(keys);
          },
        }),
      );
    });
    // Canceling the owner reads only its task at first; handing the slot on needs the slot's owner and queue.
    await new GroupCommit(watched, clock).run(cancelWrite(taskId(1), ""));
    expect(transactions).toBe(1);
    expect(reads.slice(1)).toEqual([{ slotOwners: ["s"] }, { slotQueues: ["s"] }]);
    expect((await backend.getTask(taskId(2)))?.slotState).toBe("owner");
    expect(published.at(-1)).toEqual([3, 4]);
  });

  it("a request that keeps asking for rows it never gets is given up, failing its batch", async () => {
    const commits = new GroupCommit(backend, clock);
    let decided = 0;
    const greedy: WriteRequest<void> = {
      reads: {},
      decide: () => {
        decided++;
        throw new NeedsRead({ tasks: [taskId(1000 + decided)] });
      },
    };
    const results = await Promise.allSettled([commits.run(submit(1)), commits.run(greedy)]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(NeedsRead);
    expect(decided).toBeGreaterThan(1);
    expect(decided).toBeLessThan(100);
    expect(await backend.head()).toBe(0);
    expect((await commits.run(submit(2))).revision).toBe(1);
  });

  it("splits more than maxBatch waiting requests into batches of at most maxBatch, in arrival order", async () => {
    const commits = new GroupCommit(backend, clock, 3);
    const tasks = await Promise.all(Array.from({ length: 7 }, (_, i) => commits.run(submit(i + 1))));
    expect(tasks.map((task) => task.revision)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(published).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it("requests that arrive while a batch commits go to the next batch", async () => {
    let late: Promise<Task> | undefined;
    let commits: GroupCommit;
    const watched = wrapTransact(backend, (work) =>
      backend.transact((tx) =>
        work({
          firstRevision: tx.firstRevision,
          read: (keys) => {
            late ??= commits.run(submit(3));
            return tx.read(keys);
          },
        }),
      ),
    );
    commits = new GroupCommit(watched, clock);
    const early = await Promise.all([commits.run(submit(1)), commits.run(submit(2))]);
    expect(early.map((task) => task.revision)).toEqual([1, 2]);
    expect((await late!).revision).toBe(3);
    expect(published).toEqual([[1, 2], [3]]);
  });
});
