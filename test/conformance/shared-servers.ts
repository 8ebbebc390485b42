import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import { type ElectorOptions, LeaseElector } from "../../server/src/cluster/elector.js";
import { systemClock } from "../../server/src/core/clock.js";
import { PostgresBackend, type PostgresOptions } from "../../server/src/store/postgres/backend.js";
import { freshDatabase, runSql, type TestDatabase } from "../helpers/postgres.js";

/**
 * Several servers' backends on one database, as the servers sharing it would open them, for one
 * test: opened shared, each with an elector when asked; at the end the electors stop (resigning),
 * then the backends close, then the database is dropped.
 */
export interface SharedDatabase extends TestDatabase {
  /** A backend of one more server sharing the database. */
  open(options?: PostgresOptions): Promise<PostgresBackend>;
  /** A leader election for `backend`'s server. */
  elect(backend: PostgresBackend, options?: ElectorOptions): LeaseElector;
  /** Stops the electors, closes the backends, drops the database (at the test's end if not before). */
  close(): Promise<void>;
}

export async function sharedDatabase(): Promise<SharedDatabase> {
  const db = await freshDatabase();
  const backends: PostgresBackend[] = [];
  const electors: LeaseElector[] = [];
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await Promise.all(electors.map((elector) => elector.stop()));
      await Promise.all(backends.map((backend) => backend.close()));
      await db.drop();
    })());
  onTestFinished(close);
  return {
    close,
    ...db,
    async open(options = {}) {
      const backend = await PostgresBackend.open(db.url, systemClock, { shared: true, ...options });
      backends.push(backend);
      return backend;
    },
    elect(backend, options = {}) {
      const elector = new LeaseElector(backend.cluster!.leases, backend.serverId, options);
      electors.push(elector);
      return elector;
    },
  };
}

/** The sessions of the database that LISTEN (a LISTEN was the last statement they ran). */
export async function listeningSessions(db: TestDatabase): Promise<number> {
  const [row] = await runSql(db.url, [
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`,
  ]);
  return row!.n as number;
}

/** Ends every LISTEN session of the database, as a dropped network or a PostgreSQL restart would. */
export async function endListeningSessions(db: TestDatabase): Promise<number> {
  const [row] = await runSql(db.url, [
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`,
  ]);
  return row!.n as number;
}

const SERVER_PROCESS = fileURLToPath(new URL("./shared-server-process.mjs", import.meta.url));

/** A server sharing the database in a process of its own (shared-server-process.mjs), killed at the test's end. */
export interface ServerProcess {
  child: ChildProcess;
  /** Resolves with the first line of its output matching `pattern`, seen or still to come. */
  line(pattern: RegExp): Promise<RegExpMatchArray>;
  /** SIGKILL, and its exit. */
  kill(): Promise<void>;
}

export function startServerProcess(db: TestDatabase, serverId: string, leaseTtlMs: number): ServerProcess {
  const child = spawn(process.execPath, [SERVER_PROCESS, db.url, serverId, String(leaseTtlMs)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const waiting: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const seen = (chunk: Buffer) => {
    output += chunk;
    for (const wait of [...waiting]) {
      const match = output.match(wait.pattern);
      if (!match) continue;
      waiting.splice(waiting.indexOf(wait), 1);
      wait.resolve(match);
    }
  };
  child.stdout!.on("data", seen);
  child.stderr!.on("data", seen);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  onTestFinished(kill);
  return {
    child,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const match = output.match(pattern);
        if (match) return resolve(match);
        waiting.push({ pattern, resolve });
        exited.then(() => reject(new Error(`the server process exited before printing ${pattern}:\n${output}`)));
      }),
    kill,
  };
}
