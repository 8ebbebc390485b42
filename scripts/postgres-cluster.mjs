#!/usr/bin/env node
// A throwaway PostgreSQL cluster for tests, benches and development: `initdb` in a fresh temp dir,
// the server on a free 127.0.0.1 port with its unix socket in that dir, durable settings (fsync and
// synchronous_commit on, as a production server would run), stopped and removed by `stop()`. The one
// cluster helper of the repository: the test setup, `npm run bench -- --backend postgres` and the peers
// bench (bench/peers/lib/postgres.mjs, pg-boss and graphile-worker) all start theirs here.
//
// initdb refuses to run as root, and CI runs as root: then every PostgreSQL command runs as the
// `postgres` user (`runuser -u postgres --`) in a dir that user owns. As any other user they run as
// that user. Binaries: $SUPERVISOR_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian's
// `postgresql` package); none found is an error that says how to install them.
//
// Usage as a script: node scripts/postgres-cluster.mjs   (prints the URL; Ctrl-C stops and removes it)
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DEBIAN_ROOT = "/usr/lib/postgresql";
const USER = "postgres";

/** The bin dir holding initdb, pg_ctl and postgres. Throws, saying what to install, when there is none. */
export function postgresBinDir() {
  const fromEnv = process.env.SUPERVISOR_PG_BIN;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, "initdb"))) throw new Error(`SUPERVISOR_PG_BIN=${fromEnv} holds no initdb`);
    return fromEnv;
  }
  const versions = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(DEBIAN_ROOT, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `no PostgreSQL server binaries: no ${DEBIAN_ROOT}/<version>/bin/initdb. ` +
        "Install them (Debian: apt-get install -y postgresql) or set SUPERVISOR_PG_BIN to a dir holding initdb",
    );
  }
  return join(DEBIAN_ROOT, versions[0], "bin");
}

const runningAsRoot = () => process.getuid?.() === 0;

/** The program and arguments that run a PostgreSQL command as the user that may run it. */
function asPostgresUser(bin, command, args) {
  const file = join(bin, command);
  return runningAsRoot() ? ["runuser", ["-u", USER, "--", file, ...args]] : [file, args];
}

const commandFailed = (command, args, status, output) =>
  new Error(`${command} ${args.join(" ")} failed (exit ${status}):\n${output.trim()}`);

/** Runs a PostgreSQL command; throws with its output when it fails. */
function pgCommand(bin, command, args) {
  const result = spawnSync(...asPostgresUser(bin, command, args), { encoding: "utf8" });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error?.message ?? ""}`;
    throw commandFailed(command, args, result.status, output);
  }
  return result.stdout;
}

/** pgCommand without blocking the event loop: what a test under load uses while its clients go on. */
function pgCommandAsync(bin, command, args) {
  const [program, argv] = asPostgresUser(bin, command, args);
  return new Promise((resolve, reject) => {
    execFile(program, argv, { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(commandFailed(command, args, error.code, `${stdout}${stderr}${error.message}`));
      else resolve(stdout);
    });
  });
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

/** CPU ticks the cluster in `data` has used so far: its postmaster, the live backends and the exited ones it reaped. */
function clusterTicks(data) {
  let postmaster;
  try {
    postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return 0;
  }
  const own = statOf(postmaster);
  if (!own) return 0;
  let ticks = own[1] + own[2]; // exited backends are reaped by the postmaster: its cutime
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statOf(name);
    if (stat && stat[0] === postmaster) ticks += stat[1];
  }
  return ticks;
}

/** What `postgres --version` says of the server in `bin`. */
export function postgresVersion(bin = postgresBinDir()) {
  return pgCommand(bin, "postgres", ["--version"]).trim();
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Starts a fresh cluster. Resolves with its URL (TCP, user postgres, trust auth on 127.0.0.1 only),
 * its socket dir and `stop()`, which shuts it down (fast: open sessions are ended) and removes its dir.
 * Every call makes a cluster of its own: a test that stops and starts PostgreSQL (`halt`, `resume`)
 * takes one for itself, not the shared one of the test run.
 * @param {{ maxConnections?: number, bin?: string, settings?: Record<string, string> }} [options]
 */
export async function startPostgres(options = {}) {
  const bin = options.bin ?? postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "supervisor-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "postgres.log");
  try {
    if (runningAsRoot()) {
      const uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }));
      const gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }));
      chownSync(dir, uid, gid);
    }
    // --no-sync: initdb's own files need not survive a power cut; the server below runs with fsync on.
    pgCommand(bin, "initdb", ["-D", data, "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let port;
    const startArgs = () => {
      const settings = {
        port,
        listen_addresses: "127.0.0.1",
        unix_socket_directories: dir,
        fsync: "on",
        synchronous_commit: "on",
        max_connections: options.maxConnections ?? 300,
        ...options.settings,
      };
      const flags = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`);
      return ["-D", data, "-l", log, "-w", "-t", "60", "-o", flags.join(" "), "start"];
    };
    const withLog = (error) => new Error(`${error.message}\n${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
    // A port found free may be taken before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        pgCommand(bin, "pg_ctl", startArgs());
        break;
      } catch (error) {
        const serverLog = existsSync(log) ? readFileSync(log, "utf8") : "";
        if (attempt < 5 && /could not bind|Address already in use/.test(serverLog)) continue;
        throw withLog(error);
      }
    }
    let stopped = false;
    let halted = false;
    const stopSync = () => {
      if (stopped) return;
      stopped = true;
      try {
        if (!halted) pgCommand(bin, "pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    return {
      url: `postgres://${USER}@127.0.0.1:${port}/postgres`,
      port,
      socketDir: dir,
      bin,
      /**
       * Shuts the server down and leaves the cluster in place (a PostgreSQL restart is `halt` then
       * `resume`). "fast" ends every session and checkpoints; "immediate" quits at once, as a crash
       * would, and the next start recovers from the WAL; "smart" waits for the sessions to end.
       * @param {"smart" | "fast" | "immediate"} [mode]
       */
      async halt(mode = "fast") {
        await pgCommandAsync(bin, "pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]).catch((error) => {
          throw withLog(error);
        });
        halted = true;
      },
      /** Starts the halted server again, on the same port and settings; resolves once it accepts connections. */
      async resume() {
        await pgCommandAsync(bin, "pg_ctl", startArgs()).catch((error) => {
          throw withLog(error);
        });
        halted = false;
      },
      async stop() {
        stopSync();
      },
      /** `stop`, done before it returns: for an exit handler, which cannot wait. */
      stopSync,
      /** Runs `sql` in `database` with psql over the unix socket; its output, trimmed. */
      psql: (database, sql) =>
        pgCommand(bin, "psql", ["-h", dir, "-p", String(port), "-U", USER, "-d", database, "-XAtq", "-c", sql]).trim(),
      /**
       * CPU ticks of the server's processes so far. pg_ctl daemonizes the server, so it is no child of the
       * caller: a load meter would count PostgreSQL's work for it as another process's.
       */
      cpuTicks: () => clusterTicks(data),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cluster = await startPostgres();
  process.stdout.write(`${cluster.url}\n`);
  const stop = async () => {
    await cluster.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
