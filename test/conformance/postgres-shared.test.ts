import { TaskPhase } from "@supervisor/sdk";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../server/src/core/clock.js";
import type { TaskChange } from "../../server/src/store/backend.js";
import { PostgresBackend } from "../../server/src/store/postgres/backend.js";
import { DatabaseInUseError } from "../../server/src/store/postgres/lock.js";
import { describeOn } from "../helpers/backend.js";
import { freshDatabase } from "../helpers/postgres.js";
import { waitUntil } from "../helpers/wait.js";
import { describeBackend } from "./backend-conformance.js";
import {
  decide,
  insertTasks,
  makeRunner,
  makeSchedule,
  makeTask,
  revisionsOf,
  taskId,
  wholeJournal,
  withStatus,
} from "./fixtures.js";
import { endListeningSessions, listeningSessions, sharedDatabase } from "./shared-servers.js";

/** Every change a backend publishes from now on, in the order it publishes them. */
function heard(backend: PostgresBackend): TaskChange[] {
  const changes: TaskChange[] = [];
  backend.onCommit((batch) => changes.push(...batch));
  return changes;
}

const summary = (changes: readonly TaskChange[]) =>
  changes.map((change) => [change.revision, change.type, change.task.id, change.task.status?.phase]);

const range = (to: number) => Array.from({ length: to }, (_, i) => i + 1);

/** One batch of one server: tasks it adds, and tasks (added by any server before) it moves on. */
const batch = fc.record({
  server: fc.nat(),
  inserts: fc.integer({ min: 0, max: 3 }),
  updates: fc.array(fc.nat(), { maxLength: 2 }),
});

// PostgreSQL only: a SQLite file has one server.
describeOn("postgres")("PostgreSQL shared by several servers", () => {
  // One server alone on a shared database keeps every promise of the backend.
  describeBackend("postgres, shared", async () => {
    const database = await freshDatabase();
    const backend = await PostgresBackend.open(database.url, systemClock, { shared: true });
    return {
      backend,
      async close() {
        await backend.close();
        await database.drop();
      },
    };
  });

  describe("the journal: one order, heard by every server", () => {
    it("servers writing interleaved batches at once: revisions gap-free, every change heard by each once, in order", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 2, max: 3 }),
          fc.array(batch, { minLength: 2, maxLength: 16 }),
          async (servers, batches) => {
            const db = await sharedDatabase();
            const backends = await Promise.all(range(servers).map(() => db.open()));
            const logs = backends.map(heard);
            let nextTask = 1;
            const planned = batches.map(({ server, inserts, updates }) => {
              const before = nextTask - 1;
              return {
                backend: backends[server % servers]!,
                inserts: Array.from({ length: inserts }, () => nextTask++),
                // Tasks of earlier batches (of any server): stored by now, or not yet, as it happens.
                updates: before === 0 ? [] : updates.map((pick) => (pick % before) + 1),
              };
            });
            // Every batch at once: each server's go one after another on its connection, the servers' interleave.
            await Promise.all(
              planned.map(({ backend, inserts, updates }) =>
                decide(
                  backend,
                  (view) => {
                    for (const n of inserts) view.insertTask(makeTask(n), "none");
                    for (const id of new Set(updates.map(taskId))) {
                      const stored = view.task(id)?.task;
                      if (stored) view.updateTask(withStatus(stored, TaskPhase.TASK_PHASE_RUNNING), stored, "none");
                    }
                  },
                  { tasks: updates.map(taskId) },
                ),
              ),
            );
            const journal = await wholeJournal(backends[0]!);
            const head = await backends[0]!.head();
            expect(revisionsOf(journal)).toEqual(range(head));
            expect(journal.filter((change) => change.type === 1)).toHaveLength(nextTask - 1);
            // Each server's own commits were published before their transact resolved; the others' follow.
            await waitUntil(() => logs.every((log) => log.length >= head), "every server to hear every change", 10_000);
            for (const log of logs) expect(summary(log)).toEqual(summary(journal));
            await db.close();
          },
        ),
        { numRuns: 6 },
      );
    });

    it("a server whose LISTEN connection is ended hears the others' commits all the same, and LISTENs again", async () => {
      const db = await sharedDatabase();
      const [a, b] = [await db.open(), await db.open()];
      const log = heard(a);
      await insertTasks(b, [{ task: makeTask(1) }]);
      await waitUntil(() => log.length === 1, "A to hear B's first commit");
      expect(await endListeningSessions(db)).toBe(2);
      await insertTasks(b, [{ task: makeTask(2) }, { task: makeTask(3) }]);
      await waitUntil(() => log.length === 3, "A to hear B's commits made while it could not LISTEN");
      expect(revisionsOf(log)).toEqual([1, 2, 3]);
      await waitUntil(async () => (await listeningSessions(db)) === 2, "both servers to LISTEN again");
    });

    it("a LISTEN connection that comes back catches up by itself, with no reconcile to wait for", async () => {
      const db = await sharedDatabase();
      const a = await db.open({ reconcileMs: 3_600_000 });
      const b = await db.open();
      const log = heard(a);
      expect(await endListeningSessions(db)).toBe(2);
      // Committed while A cannot hear: only the catch-up after its reconnect can bring it (no reconcile runs).
      await insertTasks(b, [{ task: makeTask(1) }]);
      await waitUntil(() => log.length === 1, "A to catch up after it LISTENs again");
      await insertTasks(b, [{ task: makeTask(2) }]);
      await waitUntil(() => log.length === 2, "A to hear B's next commit");
      expect(revisionsOf(log)).toEqual([1, 2]);
    });

    it("a transaction's first revision is the locked counter's: after another server's commits, not this one's", async () => {
      const db = await sharedDatabase();
      const [a, b] = [await db.open({ reconcileMs: 3_600_000 }), await db.open()];
      const log = heard(a);
      await insertTasks(a, [{ task: makeTask(1) }]);
      // A cannot hear B's commits for now (until it LISTENs again): its own commit finds them missing.
      await endListeningSessions(db);
      await insertTasks(b, [{ task: makeTask(2) }, { task: makeTask(3) }]);
      const [fourth] = await insertTasks(a, [{ task: makeTask(4) }]);
      expect(fourth!.revision).toBe(4);
      // Its commit resolved once A had published everything before it, the other server's too, in order.
      expect(revisionsOf(log)).toEqual([1, 2, 3, 4]);
    });
  });

  it("runners: a server hears of the other servers' runner writes, never of its own", async () => {
    const db = await sharedDatabase();
    // No reconcile: what a server hears comes from its LISTEN connection only, in commit order.
    const [a, b] = [await db.open({ reconcileMs: 3_600_000 }), await db.open({ reconcileMs: 3_600_000 })];
    const calls = { a: 0, b: 0 };
    a.onRunnersChanged(() => calls.a++);
    b.onRunnersChanged(() => calls.b++);
    const [heardByA, heardByB] = [heard(a), heard(b)];
    await decide(a, (view) => view.putRunner(makeRunner(1, "alpha")));
    await decide(b, (view) => {
      view.putRunner(makeRunner(2, "beta"));
      view.insertTask(makeTask(1), "none");
    });
    // Hearing B's task, A has had every notification before it: its own runner write, then B's.
    await waitUntil(() => heardByA.length === 1, "A to hear B's commit");
    expect(calls.a).toBe(1);
    await decide(a, (view) => {
      view.deleteRunner(makeRunner(1, "alpha"));
      view.insertTask(makeTask(2), "none");
    });
    await waitUntil(() => heardByB.length === 2, "B to hear A's second commit");
    expect(calls).toEqual({ a: 1, b: 2 });
  });

  describe("schedules: servers racing on one row", () => {
    const ROUNDS = 20;

    it("passes of two servers over the same cursor: each round exactly one applies, its counts once", async () => {
      const db = await sharedDatabase();
      const servers = [await db.open(), await db.open()];
      let row = makeSchedule(1);
      expect(await servers[0]!.schedules.create(row)).toBe(true);
      let missed = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        const expected = { generation: row.generation, cursorMs: row.cursorMs };
        // Both read the row, both fire the tick (the same task: the request id dedupes it), both advance.
        const pass = (server: number) => ({
          cursorMs: row.cursorMs + 1000,
          nextDueMs: row.cursorMs + 2000,
          firedTaskIds: [taskId(round)],
          lastFireMs: row.cursorMs + 1000,
          missed: server + 1,
          skipped: 0,
        });
        const applied = await Promise.all(
          servers.map((backend, server) => backend.schedules.advance(row.id, expected, pass(server))),
        );
        expect(applied.filter(Boolean)).toHaveLength(1);
        missed += applied.indexOf(true) + 1;
        row = (await servers[round % 2]!.schedules.get(row.id))!;
        expect(row.cursorMs).toBe(expected.cursorMs + 1000);
      }
      expect([row.fired, row.missed]).toEqual([ROUNDS, missed]);
      expect(row.recentTaskIds).toEqual(Array.from({ length: 10 }, (_, i) => taskId(ROUNDS - i)));
    });

    it("two clients' changes over the same generation: exactly one applies; a pass at once never undoes it", async () => {
      const db = await sharedDatabase();
      const servers = [await db.open(), await db.open()];
      let row = makeSchedule(1);
      expect(await servers[0]!.schedules.create(row)).toBe(true);
      for (let round = 1; round <= ROUNDS; round++) {
        const change = (server: number) => ({
          ...row,
          definition: { ...row.definition, note: `round ${round} by ${server}` },
          generation: row.generation + 1,
        });
        const pass = {
          cursorMs: row.cursorMs + 1000,
          nextDueMs: null,
          firedTaskIds: [taskId(round)],
          missed: 0,
          skipped: 0,
        };
        const expected = { generation: row.generation, cursorMs: row.cursorMs };
        const [first, second, advanced] = await Promise.all([
          servers[0]!.schedules.update(change(0), row.generation),
          servers[1]!.schedules.update(change(1), row.generation),
          servers[round % 2]!.schedules.advance(row.id, expected, pass),
        ]);
        expect([first, second].filter(Boolean)).toHaveLength(1);
        const before = row;
        row = (await servers[0]!.schedules.get(row.id))!;
        // The client's change is there, whichever came first; the pass's progress only if it came before.
        expect(row.definition.note).toBe(`round ${round} by ${first ? 0 : 1}`);
        expect(row.generation).toBe(before.generation + 1);
        expect(row.fired).toBe(before.fired + (advanced ? 1 : 0));
        // Nor does the change undo the pass: the cursor never goes back.
        expect(row.cursorMs).toBe(before.cursorMs + (advanced ? 1000 : 0));
      }
    });
  });

  it("servers sharing a database and one that has it alone exclude each other", async () => {
    const alone = await freshDatabase();
    const owner = await PostgresBackend.open(alone.url, systemClock);
    try {
      await expect(PostgresBackend.open(alone.url, systemClock, { shared: true })).rejects.toThrow(
        /is in use by another supervisor server .* that does not share it/,
      );
    } finally {
      await owner.close();
      await alone.drop();
    }
    const db = await sharedDatabase();
    await db.open();
    await db.open();
    await expect(PostgresBackend.open(db.url, systemClock)).rejects.toThrow(DatabaseInUseError);
  });
});
