import { symlinkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { RunPhase, SupervisorClient, subprocess, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../server/src/config.js";
import { silentLogger } from "../server/src/log.js";
import { startServer } from "../server/src/server.js";
import { DatabaseInUseError } from "../server/src/store/sqlite/lock.js";
import { BACKEND, itOn, storeForTest } from "./helpers/backend.js";
import { runCli, startCli, stopChild } from "./helpers/cli.js";
import { healthStatus } from "./helpers/health.js";
import { startRunner } from "./helpers/runners.js";
import { startTestServer, tempDir } from "./helpers/server.js";

const READY = /supervisor serving on (\S+)/;
/** A `supervisor serve` on `db`, killed when the test is over if it has not been stopped before. */
async function serve(db: string) {
  const started = await startCli(["serve", "--listen", "127.0.0.1:0", "--db", db], READY);
  onTestFinished(async () => {
    await stopChild(started.child, "SIGKILL");
  });
  return started;
}
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

const SINCE = "since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z";

/**
 * The one line a refused `supervisor serve` prints, naming the database and the process holding it:
 * the holder file's pid and host on SQLite; on PostgreSQL the holder's session as pg_stat_activity shows
 * it (the application_name every connection of a server sets, where it connected from, since when).
 */
const inUseLine = (db: string, pid: number) =>
  BACKEND === "sqlite"
    ? new RegExp(
        `^supervisor: the database ${literal(db)} is in use by another supervisor process ` +
          `\\(pid ${pid} on host ${literal(hostname())}, ${SINCE}\\); ` +
          "one server per SQLite file: stop it, or give this one its own --db\\n$",
      )
    : new RegExp(
        `^supervisor: the database ${literal(db)} is in use by another supervisor server ` +
          `\\(${literal(`supervisor pid ${pid} on ${hostname()}`.slice(0, 63))}, connected from 127\\.0\\.0\\.1 ${SINCE}\\); ` +
          "one server per database: stop it, or give this one its own --db\\n$",
      );

const configFor = (db: string, listen = "127.0.0.1:0") => loadConfig({ flags: { listen, db, metricsListen: "off" } });

describe("one server per database", () => {
  // SQLite only: several servers share a PostgreSQL database (test/cluster.test.ts: a second server joins,
  // and no server marks another live one's runs LOST); a SQLite file has one server.
  itOn("sqlite")(
    "a second `supervisor serve` on the file exits 1 with one line; the first keeps its runs and serves",
    async () => {
      const db = await storeForTest(tempDir(), "shared.db");
      const first = await serve(db);
      const address = first.match[1]!;
      const client = new SupervisorClient({ address });
      onTestFinished(() => client.close());
      const runner = await startRunner(address, "busy-runner");
      onTestFinished(async () => {
        await runner.stop("SIGKILL");
      });
      try {
        const running = await client.submit(subprocess("sleep", ["30"]));
        await client.waitFor(running.id, { phases: [TaskPhase.TASK_PHASE_RUNNING] });

        const second = await runCli(["serve", "--listen", "127.0.0.1:0", "--db", db]);
        expect(second.code).toBe(1);
        expect(second.stdout).toBe("");
        expect(second.stderr).toMatch(inUseLine(db, first.child.pid!));

        // The refused server touched nothing: the first one's live run is still RUNNING, not LOST.
        const task = await client.get(running.id);
        expect(task.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_RUNNING, attempt: 1 });
        expect((await client.listRuns(running.id)).map((run) => run.phase)).toEqual([RunPhase.RUN_PHASE_RUNNING]);
        expect((await client.submit(subprocess("echo", ["still writing"]))).id).toBeTruthy();
        expect(await healthStatus(address)).toBe("SERVING");
        await client.cancel(running.id);
        await client.waitFor(running.id);
      } finally {
        client.close();
        await runner.stop();
        await stopChild(first.child);
      }
    },
  );

  // SQLite only, for the same reason: on PostgreSQL a third server would join the second.
  itOn("sqlite")("a SIGKILLed server leaves no stale lock: a new one starts on the file at once", async () => {
    const db = await storeForTest(tempDir(), "killed.db");
    const first = await serve(db);
    const before = new SupervisorClient({ address: first.match[1]! });
    onTestFinished(() => before.close());
    const task = await before.submit(subprocess("echo", ["before the kill"]));
    before.close();
    await stopChild(first.child, "SIGKILL");

    // No retry loop: the OS dropped the file lock with the process; PostgreSQL ended the session that held
    // the advisory lock when its socket closed.
    const next = await serve(db);
    const client = new SupervisorClient({ address: next.match[1]! });
    try {
      expect((await client.get(task.id)).id).toBe(task.id);
      // The killed server's holder file is replaced: a third server names the live holder.
      const third = await runCli(["serve", "--listen", "127.0.0.1:0", "--db", db]);
      expect(third.code).toBe(1);
      expect(third.stderr).toMatch(inUseLine(db, next.child.pid!));
    } finally {
      client.close();
      await stopChild(next.child);
    }
  });

  // SQLite only: a file reached by two paths, and the in-process registry SQLite needs because a process does not
  // conflict with its own file locks. PostgreSQL's counterpart is in test/conformance/postgres.test.ts ("while one
  // backend has the database open, a second open is refused, naming the holder": in one process, a session lock).
  itOn("sqlite")(
    "in one process, a second startServer on the file (by any path) is refused until the first shuts down",
    async () => {
      const first = await startTestServer();
      const alias = join(first.dir, "alias.db");
      symlinkSync(first.db, alias);
      try {
        const refusal = startServer(configFor(first.db), silentLogger);
        await expect(refusal).rejects.toThrow(DatabaseInUseError);
        await expect(refusal).rejects.toThrow(
          `the database ${first.db} is in use by another supervisor server in this process (pid ${process.pid})`,
        );
        await expect(startServer(configFor(alias), silentLogger)).rejects.toThrow(DatabaseInUseError);

        await first.server.shutdown(); // a clean shutdown gives the lock back
        const second = await startServer(configFor(first.db), silentLogger);
        const client = new SupervisorClient({ address: second.address });
        expect((await client.submit(subprocess("echo", ["second"]))).id).toBeTruthy();
        client.close();
        await second.shutdown();
      } finally {
        await first.close();
      }
    },
  );

  it("a server that fails to start gives the lock back", async () => {
    const holder = await startTestServer();
    const db = await storeForTest(tempDir(), "failed-start.db");
    try {
      // The port is taken: the database was locked and opened, then the bind failed.
      await expect(startServer(configFor(db, holder.address), silentLogger)).rejects.toThrow();
      const server = await startServer(configFor(db), silentLogger);
      await server.shutdown();
    } finally {
      await holder.close();
    }
  });

  // SQLite only: ":memory:" is a SQLite database of the process's own (PostgreSQL has no such thing).
  itOn("sqlite")("an in-memory database needs no lock", async () => {
    const first = await startServer(configFor(":memory:"), silentLogger);
    const second = await startServer(configFor(":memory:"), silentLogger);
    await second.shutdown();
    await first.shutdown();
  });
});
