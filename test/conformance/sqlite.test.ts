import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { systemClock } from "../../server/src/core/clock.js";
import { SqliteBackend } from "../../server/src/store/sqlite/backend.js";
import { DatabaseInUseError } from "../../server/src/store/sqlite/lock.js";
import { describeOn } from "../helpers/backend.js";
import { tempDir } from "../helpers/server.js";
import { describeBackend } from "./backend-conformance.js";
import { decide, insertTasks, makeTask, taskId } from "./fixtures.js";

// The sqlite project only: the postgres project holds PostgresBackend to the same suite (postgres.test.ts).
describeOn("sqlite")("the SQLite backend", () => {
  /** A real SQLite file in a fresh temp dir. NORMAL: durability across power loss is not what these tests are about. */
  function openAt(path: string): SqliteBackend {
    return SqliteBackend.open(path, { synchronous: "NORMAL" }, systemClock);
  }

  describeBackend("sqlite", async () => {
    const dir = tempDir("supervisor-conformance-");
    const backend = openAt(join(dir, "supervisor.db"));
    return {
      backend,
      async close() {
        await backend.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
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
});
