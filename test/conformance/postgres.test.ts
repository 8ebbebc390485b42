import { ErrorReason } from "@supervisor/sdk";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { systemClock } from "../../server/src/core/clock.js";
import { WriteView } from "../../server/src/store/decide/view.js";
import { PostgresBackend } from "../../server/src/store/postgres/backend.js";
import { translate } from "../../server/src/store/postgres/errors.js";
import { DatabaseInUseError } from "../../server/src/store/postgres/lock.js";
import { describeOn } from "../helpers/backend.js";
import { freePort } from "../helpers/ports.js";
import { freshDatabase, type TestDatabase } from "../helpers/postgres.js";
import { describeBackend } from "./backend-conformance.js";
import { chunk, decide, insertTasks, makeRun, makeSchedule, makeTask, scheduleId, taskId } from "./fixtures.js";

// The postgres project only: the sqlite project holds SqliteBackend to the same suite (sqlite.test.ts).
describeOn("postgres")("the PostgreSQL backend", () => {
  describeBackend("postgres", async () => {
    const database = await freshDatabase();
    const backend = await PostgresBackend.open(database.url, systemClock);
    return {
      backend,
      async close() {
        await backend.close();
        await database.drop();
      },
    };
  });

  /** A database for this test, dropped after it. */
  async function database(): Promise<TestDatabase> {
    const made = await freshDatabase();
    onTestFinished(() => made.drop());
    return made;
  }

  const open = (db: TestDatabase) => PostgresBackend.open(db.url, systemClock);

  /** Ends every session of the database but the caller's, as a PostgreSQL restart or a dropped network would. */
  async function endSessions(db: TestDatabase): Promise<number> {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      return rows.filter((row) => row.ended).length;
    } finally {
      await admin.end();
    }
  }

  // What only the PostgreSQL backend promises: one server per database, and it survives its connections.
  describe("postgres backend: the database", () => {
    it("close() releases the database: a second open finds what was committed and continues the revisions", async () => {
      const db = await database();
      const first = await open(db);
      await insertTasks(first, [{ task: makeTask(1) }, { task: makeTask(2) }]);
      await first.close();
      const second = await open(db);
      onTestFinished(() => second.close());
      expect(await second.head()).toBe(2);
      expect((await second.getTask(taskId(2)))?.task.revision).toBe(2);
      const [next] = await insertTasks(second, [{ task: makeTask(3) }]);
      expect(next!.revision).toBe(3);
    });

    it("schedules survive a reopen: every write committed before it resolved", async () => {
      const db = await database();
      const first = await open(db);
      const row = makeSchedule(1);
      expect(await first.schedules.create(row)).toBe(true);
      expect(await first.schedules.create(makeSchedule(2))).toBe(true);
      const pass = { cursorMs: row.cursorMs + 1, nextDueMs: 7, firedTaskIds: [taskId(1)], missed: 1, skipped: 2 };
      expect(await first.schedules.advance(row.id, { generation: 1, cursorMs: row.cursorMs }, pass)).toBe(true);
      expect(await first.schedules.delete(scheduleId(2))).toBe(true);
      await first.close();
      const second = await open(db);
      onTestFinished(() => second.close());
      const expected = { ...row, cursorMs: pass.cursorMs, nextDueMs: 7, recentTaskIds: [taskId(1)], fired: 1 };
      expect(await second.schedules.list("", 10)).toEqual([{ ...expected, missed: 1, skipped: 2 }]);
      expect(await second.schedules.nextDueMs()).toBe(7);
    });

    it("while one backend has the database open, a second open is refused, naming the holder", async () => {
      const db = await database();
      const first = await open(db);
      onTestFinished(() => first.close());
      // The test cluster trusts loopback: any password is let in, and the message must not show it.
      const withPassword = new URL(db.url);
      withPassword.password = "s3cret";
      const refused = PostgresBackend.open(withPassword.toString(), systemClock);
      await expect(refused).rejects.toThrow(DatabaseInUseError);
      const message = ((await refused.catch((error: Error) => error)) as Error).message;
      expect(message).toMatch(
        // application_name names the holder: its server id, pid and host.
        new RegExp(
          `is in use by another supervisor server \\(supervisor ${first.serverId} pid ${process.pid} on .+, connected from`,
        ),
      );
      expect(message).toContain(`postgres://postgres:***@${withPassword.host}/${db.name} is in use`);
      expect(message).not.toContain("s3cret");
    });

    it("close() is safe to call twice, and waits for a transaction under way", async () => {
      const db = await database();
      const backend = await open(db);
      const writing = insertTasks(backend, [{ task: makeTask(1) }]);
      await Promise.all([backend.close(), backend.close()]);
      await writing;
      const again = await open(db);
      onTestFinished(() => again.close());
      expect((await again.getTask(taskId(1)))?.task.id).toBe(taskId(1));
    });

    it("the head survives a reopen after the whole journal was compacted", async () => {
      const db = await database();
      const first = await open(db);
      await insertTasks(first, [{ task: makeTask(1) }, { task: makeTask(2) }]);
      await decide(first, (view) => view.compactJournalThrough(2));
      await first.close();
      const second = await open(db);
      onTestFinished(() => second.close());
      expect(await second.head()).toBe(2);
      expect(await second.compactedThrough()).toBe(2);
      const [next] = await insertTasks(second, [{ task: makeTask(3) }]);
      expect(next!.revision).toBe(3);
    });

    it("bytes of every value survive the multi-row (bytea[]) writes and the reads", async () => {
      const db = await database();
      const backend = await open(db);
      onTestFinished(() => backend.close());
      const [task] = await insertTasks(backend, [
        { task: makeTask(1, { args: ["\\x00", '"', "\\", "{}", "\u0000"] }) },
      ]);
      const run = makeRun(task!, 1, 1);
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const chunks = [
        { ...chunk(run.id, 1, 0, ""), data: every },
        { ...chunk(run.id, 2, 256, ""), data: Buffer.alloc(0) },
        { ...chunk(run.id, 3, 256, ""), data: Buffer.from([0x5c, 0x78, 0x22, 0x7b, 0x7d, 0x2c]) }, // \x"{},
      ];
      await decide(backend, (view) => {
        view.putRun(run);
        for (const written of chunks) view.addOutputChunk(written);
      });
      expect(await backend.readOutput(run.id, 0, 10)).toEqual(chunks);
      expect((await backend.getTask(task!.id))?.task).toEqual(task);
      expect(await backend.outputExtents(run.id)).toEqual([
        { seq: 1, offset: 0, size: 256 },
        { seq: 2, offset: 256, size: 0 },
        { seq: 3, offset: 256, size: 6 },
      ]);
    });

    it("a lost connection fails the transaction under way with STORE_UNAVAILABLE; the next reconnects and goes on", async () => {
      const db = await database();
      const backend = await open(db);
      onTestFinished(() => backend.close());
      await insertTasks(backend, [{ task: makeTask(1) }]);
      let readDone = () => {};
      const read = new Promise<void>((resolve) => (readDone = resolve));
      let goOn = () => {};
      const gate = new Promise<void>((resolve) => (goOn = resolve));
      const lost = backend.transact(async (tx) => {
        const view = new WriteView(await tx.read({ tasks: [taskId(1)] }), tx.firstRevision);
        readDone();
        await gate;
        view.insertTask(makeTask(2), "none");
        return { writes: view.writes, result: undefined };
      });
      await read;
      expect(await endSessions(db)).toBeGreaterThan(0);
      goOn();
      await expect(lost).rejects.toMatchObject({ reason: ErrorReason.STORE_UNAVAILABLE });

      // The next transaction opens a new connection, takes the writer lock again and continues the revisions.
      const [next] = await insertTasks(backend, [{ task: makeTask(3) }]);
      expect(next!.revision).toBe(2);
      expect(await backend.getTask(taskId(2))).toBeUndefined();
      await expect(open(db)).rejects.toThrow(DatabaseInUseError);
    });

    it("reads after the connections were ended open new ones", async () => {
      const db = await database();
      const backend = await open(db);
      onTestFinished(() => backend.close());
      await insertTasks(backend, [{ task: makeTask(1) }]);
      expect((await backend.listTasks({ limit: 10 })).items).toHaveLength(1);
      await endSessions(db);
      // A pooled connection that was idle when it broke is dropped; the read gets a new one.
      await expect.poll(() => backend.getTask(taskId(1)).then((stored) => stored?.task.id)).toBe(taskId(1));
      expect(await backend.head()).toBe(1);
    });
  });

  describe("postgres backend: failures as the server sees them", () => {
    /** What `work` fails with, as the backend passes it on. */
    const failure = async (work: () => Promise<unknown>) =>
      translate(
        await work().then(
          () => undefined,
          (e) => e,
        ),
      );
    const unavailable = (cause: string) => ({ reason: ErrorReason.STORE_UNAVAILABLE, metadata: { cause } });

    it("no server listening, a session ended, a serialization failure: STORE_UNAVAILABLE; a bad statement is not", async () => {
      const db = await database();
      const nobody = new pg.Client({ host: "127.0.0.1", port: await freePort(), user: "postgres" });
      expect(await failure(() => nobody.connect())).toMatchObject(unavailable("ECONNREFUSED"));

      const [first, second] = [
        new pg.Client({ connectionString: db.url }),
        new pg.Client({ connectionString: db.url }),
      ];
      for (const client of [first, second]) {
        await client.connect();
        client.on("error", () => {}); // ended below, with every session of the database
        onTestFinished(() => client.end().catch(() => {}));
      }
      await first.query("CREATE TABLE counter (n integer); INSERT INTO counter VALUES (0)");
      await first.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      await first.query("SELECT n FROM counter");
      await second.query("UPDATE counter SET n = n + 1");
      expect(await failure(() => first.query("UPDATE counter SET n = n + 1"))).toMatchObject(
        unavailable("postgres 40001"),
      );
      await first.query("ROLLBACK");

      const bad = await failure(() => first.query("SELEC 1"));
      expect(bad).toMatchObject({ code: "42601" });
      expect(bad).not.toHaveProperty("reason");

      const ended = failure(() => second.query("SELECT pg_sleep(30)"));
      await endSessions(db);
      expect(await ended).toMatchObject(unavailable("postgres 57P01"));
    });
  });
});
