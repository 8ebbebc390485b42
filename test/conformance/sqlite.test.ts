import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ErrorReason } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { systemClock } from "../../server/src/core/clock.js";
import { DomainError } from "../../server/src/errors.js";
import { WriteView } from "../../server/src/store/decide/view.js";
import { SqliteBackend, type SqliteOptions, type StartWriterThread } from "../../server/src/store/sqlite/backend.js";
import { DatabaseInUseError } from "../../server/src/store/sqlite/lock.js";
import { WorkerWriter } from "../../server/src/store/sqlite/worker-writer.js";
import { describeOn } from "../helpers/backend.js";
import { holdWriteLock } from "../helpers/hold-write-lock.js";
import { tempDir } from "../helpers/server.js";
import { describeBackend } from "./backend-conformance.js";
import { decide, insertTasks, makeSchedule, makeTask, scheduleId, taskId } from "./fixtures.js";

// The sqlite project only: the postgres project holds PostgresBackend to the same suite (postgres.test.ts).
describeOn("sqlite")("the SQLite backend", () => {
  /** A real SQLite file in a fresh temp dir. NORMAL: durability across power loss is not what these tests are about. */
  function openAt(path: string, writer?: SqliteOptions["writer"], startThread?: StartWriterThread): SqliteBackend {
    return SqliteBackend.open(path, { synchronous: "NORMAL", writer }, systemClock, startThread);
  }

  const onFile = (writer: SqliteOptions["writer"]) => async () => {
    const dir = tempDir("supervisor-conformance-");
    const backend = openAt(join(dir, "supervisor.db"), writer);
    return {
      backend,
      async close() {
        await backend.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };

  // A file, as the server runs it: writes on the writer thread, reads on the backend's own connection.
  describeBackend("sqlite, writer thread", onFile("thread"));

  // A file, one connection that reads and writes on the event loop (the fake-clock engine tests run so).
  describeBackend("sqlite, writer on the event loop", onFile("event-loop"));

  // In memory: one connection, on the event loop (a second one could not share the database).
  describeBackend("sqlite in memory", async () => {
    const backend = openAt(":memory:");
    return { backend, close: () => backend.close() };
  });

  // What only the SQLite backend promises: it is one file, owned by one process at a time.
  describe("sqlite backend: the file", () => {
    const freshPath = () => {
      const dir = tempDir("supervisor-conformance-");
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      return join(dir, "supervisor.db");
    };

    it("close() releases the database: a second open of the file works and finds what was committed", async () => {
      const path = freshPath();
      const first = openAt(path);
      await insertTasks(first, [{ task: makeTask(1) }, { task: makeTask(2) }]);
      await first.close();
      const second = openAt(path);
      onTestFinished(() => second.close());
      expect(await second.head()).toBe(2);
      expect((await second.getTask(taskId(2)))?.task.revision).toBe(2);
      const [next] = await insertTasks(second, [{ task: makeTask(3) }]);
      expect(next!.revision).toBe(3);
    });

    for (const writer of ["thread", "event-loop"] as const) {
      it(`schedules survive a reopen (writer ${writer}): every write committed before it resolved`, async () => {
        const path = freshPath();
        const first = openAt(path, writer);
        const row = makeSchedule(1);
        expect(await first.schedules.create(row)).toBe(true);
        expect(await first.schedules.create(makeSchedule(2))).toBe(true);
        const pass = { cursorMs: row.cursorMs + 1, nextDueMs: 7, firedTaskIds: [taskId(1)], missed: 1, skipped: 2 };
        expect(await first.schedules.advance(row.id, { generation: 1, cursorMs: row.cursorMs }, pass)).toBe(true);
        expect(await first.schedules.delete(scheduleId(2))).toBe(true);
        await first.close();
        const second = openAt(path, writer);
        onTestFinished(() => second.close());
        const expected = { ...row, cursorMs: pass.cursorMs, nextDueMs: 7, recentTaskIds: [taskId(1)], fired: 1 };
        expect(await second.schedules.list("", 10)).toEqual([{ ...expected, missed: 1, skipped: 2 }]);
        expect(await second.schedules.nextDueMs()).toBe(7);
      });
    }

    it("while one backend has the file open, a second open is refused", async () => {
      const path = freshPath();
      const first = openAt(path);
      onTestFinished(() => first.close());
      expect(() => openAt(path)).toThrow(DatabaseInUseError);
    });

    it("close() is safe to call twice, and waits for a transaction under way", async () => {
      const path = freshPath();
      const backend = openAt(path);
      const writing = insertTasks(backend, [{ task: makeTask(1) }]);
      await Promise.all([backend.close(), backend.close()]);
      await writing;
      const again = openAt(path);
      onTestFinished(() => again.close());
      expect((await again.getTask(taskId(1)))?.task.id).toBe(taskId(1));
    });

    it("the head survives a reopen after the whole journal was compacted", async () => {
      const path = freshPath();
      const first = openAt(path);
      await insertTasks(first, [{ task: makeTask(1) }, { task: makeTask(2) }]);
      await decide(first, (view) => view.compactJournalThrough(2));
      await first.close();
      const second = openAt(path);
      onTestFinished(() => second.close());
      expect(await second.head()).toBe(2);
      expect(await second.compactedThrough()).toBe(2);
      const [next] = await insertTasks(second, [{ task: makeTask(3) }]);
      expect(next!.revision).toBe(3);
    });
  });

  /** Starts a transaction of `writes`; `posted` settles once its batch is on its way to the writer. */
  function startTransaction<R>(backend: SqliteBackend, writes: (view: WriteView) => R) {
    let returned = () => {};
    const decided = new Promise<void>((resolve) => (returned = resolve));
    const committing = backend.transact(async (tx) => {
      const view = new WriteView(await tx.read({}), tx.firstRevision);
      const result = writes(view);
      returned();
      return { writes: view.writes, result };
    });
    // The backend posts the batch in the promise jobs that follow `work`'s return: a macrotask later it is out.
    const posted = decided.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    return { committing, posted };
  }

  /** The ErrorInfo reason a write failed with, or "committed". */
  const outcomeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "committed",
      (error: unknown) => (error instanceof DomainError ? error.reason : String(error)),
    );

  // The writer thread: COMMIT and its fsync happen off the event loop, and a thread that dies fails cleanly.
  describe("sqlite backend: the writer thread", () => {
    const freshPath = () => {
      const dir = tempDir("supervisor-conformance-");
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      return join(dir, "supervisor.db");
    };

    it("a commit waiting for the disk leaves the event loop free: reads answer meanwhile, then it commits", async () => {
      const path = freshPath();
      // No busy timeout to run out while the test looks on: the commit waits as long as the lock is held.
      const patient: StartWriterThread = (file, pragmas) =>
        new WorkerWriter(file, [...pragmas, "busy_timeout = 60000"]);
      const backend = openAt(path, "thread", patient);
      onTestFinished(() => backend.close());
      await insertTasks(backend, [{ task: makeTask(1) }]);
      const lock = holdWriteLock(path);
      onTestFinished(() => lock.release());
      const { committing, posted } = startTransaction(backend, (view) => view.insertTask(makeTask(2), "none"));
      let settled = false;
      const outcome = outcomeOf(committing).finally(() => (settled = true));
      // On the event loop a commit would hold it here, inside the promise jobs, until the lock is released.
      await posted;
      expect((await backend.getTask(taskId(1)))?.task.id).toBe(taskId(1));
      expect(await backend.getTask(taskId(2))).toBeUndefined();
      expect(await backend.head()).toBe(1);
      expect(settled).toBe(false);
      lock.release();
      expect(await outcome).toBe("committed");
      expect((await committing).revision).toBe(2);
      expect((await backend.getTask(taskId(2)))?.task.revision).toBe(2);
    });

    it("a thread that dies fails its batch and every later one with STORE_UNAVAILABLE; reads go on", async () => {
      const path = freshPath();
      let thread: WorkerWriter | undefined;
      const backend = openAt(path, "thread", (file, pragmas) => (thread = new WorkerWriter(file, pragmas)));
      await insertTasks(backend, [{ task: makeTask(1) }]);
      // Long enough to be under way when the thread stops; every statement of it succeeds (see terminate()).
      const { committing, posted } = startTransaction(backend, (view) => {
        for (let i = 0; i < 50_000; i++)
          view.putIdempotencyKey({ requestId: `request-${i}`, taskId: taskId(1), specHash: "hash", createTimeMs: i });
      });
      await posted;
      await thread!.terminate();
      expect(await outcomeOf(committing)).toBe(ErrorReason.STORE_UNAVAILABLE);
      expect(await outcomeOf(insertTasks(backend, [{ task: makeTask(2) }]))).toBe(ErrorReason.STORE_UNAVAILABLE);
      expect((await backend.getTask(taskId(1)))?.task.id).toBe(taskId(1));
      expect(await backend.getTask(taskId(2))).toBeUndefined();
      expect(await backend.head()).toBe(1);
      await backend.close(); // returns: nothing is left to wait for
      const again = openAt(path);
      onTestFinished(() => again.close());
      const [next] = await insertTasks(again, [{ task: makeTask(2) }]);
      expect(next!.revision).toBe(2);
    });

    it("close() checkpoints the WAL into the database file", async () => {
      const path = freshPath();
      const backend = openAt(path);
      await insertTasks(
        backend,
        Array.from({ length: 50 }, (_, i) => ({ task: makeTask(i + 1) })),
      );
      const walBytes = () => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
      expect(walBytes()).toBeGreaterThan(0);
      await backend.close();
      expect(walBytes()).toBe(0);
    });
  });
});
