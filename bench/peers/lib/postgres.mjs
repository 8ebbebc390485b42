// A throw-away PostgreSQL 15 cluster for pg-boss and graphile-worker: initdb in a fresh temp dir,
// started with pg_ctl on a free loopback port (socket in the same dir), with the durable settings
// written out explicitly, and stopped (and removed) at the end or on any exit. initdb refuses to run
// as root, so as root every server command runs as the `postgres` user through runuser.
import { execFileSync } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup.mjs";
import { ensureBinary, isRoot } from "./install.mjs";
import { freePort } from "./net.mjs";

const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** Everything else is PostgreSQL's default; max_connections only makes room for 4 worker pools of 18. */
export const POSTGRES_SETTINGS = {
  fsync: "on",
  synchronous_commit: "on",
  full_page_writes: "on",
  max_connections: "200",
};

function pgBinary(name) {
  return ensureBinary({
    candidates: [join(PG_BIN, name)],
    debianPackage: "postgresql-15",
    what: `PostgreSQL 15 ${name}`,
  });
}

/** Runs a PostgreSQL program, as the postgres user when we are root. */
function runAsPostgres(program, args, options = {}) {
  const [command, fullArgs] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", pgBinary(program), ...args]]
    : [pgBinary(program), args];
  return execFileSync(command, fullArgs, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
}

/** [ppid, utime + stime, cutime + cstime] of a process from /proc (clock ticks), or undefined if it is gone. */
function statOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [Number(f[1]), Number(f[11]) + Number(f[12]), Number(f[13]) + Number(f[14])];
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks used so far by a postmaster and its backends. pg_ctl daemonizes the server, so it is not a
 * child of the bench and the machine-load meter would otherwise count it as another process's work.
 */
function clusterTicks(postmasterPid) {
  const own = statOf(postmasterPid);
  if (!own) return 0;
  let ticks = own[1] + own[2]; // exited backends are reaped by the postmaster: its cutime
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statOf(name);
    if (stat && stat[0] === postmasterPid) ticks += stat[1];
  }
  return ticks;
}

export function postgresVersion() {
  return runAsPostgres("postgres", ["--version"]).trim();
}

/** Starts the cluster; `admin(sql)` runs a statement in the `postgres` database through psql. */
export async function startPostgres() {
  const dir = mkdtempSync(join(tmpdir(), "peers-pg-"));
  if (isRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = await freePort();
  let started = false;
  const stopServer = () => {
    if (started && existsSync(join(data, "postmaster.pid"))) {
      runAsPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
    }
    started = false;
  };
  const undo = onCleanup(`PostgreSQL on port ${port}`, () => {
    try {
      stopServer();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  try {
    runAsPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"]);
    const conf = {
      listen_addresses: "'127.0.0.1'",
      port: String(port),
      unix_socket_directories: `'${dir}'`,
      ...POSTGRES_SETTINGS,
    };
    appendFileSync(
      join(data, "postgresql.conf"),
      `\n# bench/peers\n${Object.entries(conf)
        .map(([key, value]) => `${key} = ${value}`)
        .join("\n")}\n`,
    );
    started = true;
    runAsPostgres("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  } catch (error) {
    undo();
    throw new Error(`PostgreSQL did not start: ${error.stderr ?? ""}${error.message}`);
  }
  const postmasterPid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  const psql = (database, sql) =>
    runAsPostgres("psql", ["-h", dir, "-p", String(port), "-U", "postgres", "-d", database, "-XAtq", "-c", sql]).trim();
  return {
    host: "127.0.0.1",
    port,
    dir,
    /** A postgres:// URL for `database`, over TCP on loopback like the other systems' clients. */
    /** CPU ticks of the server processes so far (for the machine-load meter). */
    cpuTicks: () => clusterTicks(postmasterPid),
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    psql,
    /** The settings as the running server reports them. */
    showSettings: () =>
      Object.fromEntries(
        ["fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers", "max_connections"].map(
          (name) => [name, psql("postgres", `SHOW ${name}`)],
        ),
      ),
    /** A fresh, empty database; drop it with `dropDatabase`. */
    createDatabase: (name) => psql("postgres", `CREATE DATABASE ${name}`),
    dropDatabase: (name) => psql("postgres", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    /** So that a timed checkpoint of earlier work does not land inside the next measurement. */
    checkpoint: () => psql("postgres", "CHECKPOINT"),
    stop: () => undo(),
  };
}
