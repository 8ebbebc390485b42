import { rmSync } from "node:fs";
import { AdmissionPolicy, ErrorReason, type Task, TaskPhase, type TaskSpec } from "@supervisor/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { specHash } from "../../server/src/core/task-spec.js";
import { DomainError } from "../../server/src/errors.js";
import type { ReadKeys, StorageBackend } from "../../server/src/store/backend.js";
import { NeedsRead, type WriteView } from "../../server/src/store/decide/view.js";
import { type CommitStage, GroupCommit, type WriteRequest } from "../../server/src/store/group-commit.js";
import { openBackend } from "../../server/src/store/open-backend.js";
import { RowCache } from "../../server/src/store/row-cache.js";
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

/** A stage that records what it is told, and adds a submit of task `id` when it has one to add. */
class RecordingStage implements CommitStage<string> {
  readonly events: string[] = [];
  pending: number | undefined;

  hasWork(): boolean {
    return this.pending !== undefined;
  }

  async decide(view: WriteView, nowMs: number): Promise<string> {
    const id = this.pending;
    this.pending = undefined;
    if (id === undefined) return "nothing";
    view.begin();
    submit(id).decide(view, nowMs);
    view.commit();
    this.events.push(`decided ${id}`);
    return `plan ${id}`;
  }

  committed(plan: string): void {
    this.events.push(`committed ${plan}`);
  }

  failed(plan: string | undefined, error: unknown): void {
    this.events.push(`failed ${plan} ${(error as Error).message}`);
  }
}

describe("GroupCommit stages", () => {
  it("a stage decides into the batch of the requests, is told it committed before they are answered", async () => {
    const commits = new GroupCommit(backend, clock);
    const stage = new RecordingStage();
    commits.addStage(stage);
    stage.pending = 2;
    const task = await commits.run(submit(1)).then((task) => {
      stage.events.push("answered");
      return task;
    });
    expect(stage.events).toEqual(["decided 2", "committed plan 2", "answered"]);
    expect(published).toEqual([[1, 2]]);
    expect(task.revision).toBe(1);
  });

  it("a stage with work runs a batch of its own when kicked; without work, no transaction is opened", async () => {
    let transactions = 0;
    const counting = wrapTransact(backend, (work) => {
      transactions++;
      return backend.transact(work);
    });
    const commits = new GroupCommit(counting, clock);
    const stage = new RecordingStage();
    commits.addStage(stage);
    commits.kick();
    await new Promise((resolve) => setImmediate(resolve));
    expect(transactions).toBe(0);
    stage.pending = 7;
    const committed = new Promise<void>((resolve) => backend.onCommit(() => resolve()));
    commits.kick();
    await committed;
    expect(transactions).toBe(1);
    expect(await backend.getTask(taskId(7))).toBeDefined();
  });

  it("when the batch fails, its stage hears it with its plan and nothing of it is written", async () => {
    const diskFull = new Error("SQLITE_FULL: database or disk is full");
    const flaky = wrapTransact(backend, (work) =>
      backend.transact(async (tx) => {
        await work(tx);
        throw diskFull;
      }),
    );
    const commits = new GroupCommit(flaky, clock);
    const stage = new RecordingStage();
    commits.addStage(stage);
    stage.pending = 2;
    await expect(commits.run(submit(1))).rejects.toBe(diskFull);
    expect(stage.events).toEqual(["decided 2", `failed plan 2 ${diskFull.message}`]);
    expect(await backend.head()).toBe(0);
  });
});

describe("GroupCommit with a row cache", () => {
  /** The real backend, recording the task ids each read inside a transaction asks it for. */
  function recordingReads(): { backend: StorageBackend; asked: string[][] } {
    const asked: string[][] = [];
    const recording = wrapTransact(backend, (work) =>
      backend.transact((tx) =>
        work({
          firstRevision: tx.firstRevision,
          read: (keys: ReadKeys) => {
            asked.push([...(keys.tasks ?? [])]);
            return tx.read(keys);
          },
        }),
      ),
    );
    return { backend: recording, asked };
  }

  it("a task this process wrote is not read back by the next batch, and the batch sees its committed state", async () => {
    const { backend: recording, asked } = recordingReads();
    const commits = new GroupCommit(recording, clock, 1000, new RowCache(100));
    await commits.run(submit(1));
    asked.length = 0;
    const canceled = await commits.run(cancelWrite(taskId(1), "no longer needed"));
    expect(asked).toEqual([[]]);
    expect(canceled.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    expect((await backend.getTask(taskId(1)))!.task.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
  });

  it("after a batch whose commit failed, every row is read from the backend again", async () => {
    let failNext = false;
    const { backend: recording, asked } = recordingReads();
    const flaky = wrapTransact(recording, (work) =>
      failNext
        ? recording.transact(async (tx) => {
            failNext = false;
            await work(tx);
            throw new Error("SQLITE_IOERR: disk I/O error");
          })
        : recording.transact(work),
    );
    const commits = new GroupCommit(flaky, clock, 1000, new RowCache(100));
    await commits.run(submit(1));
    failNext = true;
    await expect(commits.run(submit(2))).rejects.toThrow("SQLITE_IOERR");
    asked.length = 0;
    await commits.run(cancelWrite(taskId(1), ""));
    expect(asked).toEqual([[taskId(1)]]);
  });

  it("holds at most its capacity: the oldest written rows are read from the backend again", async () => {
    const { backend: recording, asked } = recordingReads();
    const commits = new GroupCommit(recording, clock, 1000, new RowCache(2));
    for (const n of [1, 2, 3]) await commits.run(submit(n));
    asked.length = 0;
    await Promise.all([1, 2, 3].map((n) => commits.run(cancelWrite(taskId(n), ""))));
    expect(asked).toEqual([[taskId(1)]]);
  });
});
