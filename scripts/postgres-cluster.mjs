#!/usr/bin/env node
// A throwaway PostgreSQL cluster for tests, benches and development: `initdb` in a fresh temp dir,
// the server on a free 127.0.0.1 port with its unix socket in that dir, durable settings (fsync and
// synchronous_commit on, as a production server would run), stopped and removed by `stop()`.
//
// initdb refuses to run as root, and CI runs as root: then every PostgreSQL command runs as the
// `postgres` user (`runuser -u postgres --`) in a dir that user owns. As any other user they run as
// that user. Binaries: $SUPERVISOR_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian's
// `postgresql` package); none found is an error that says how to install them.
//
// Usage as a script: node scripts/postgres-cluster.mjs   (prints the URL; Ctrl-C stops and removes it)
import { execFileSync, spawnSync } from "node:child_process";
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

/** Runs a PostgreSQL command as the user that may run it; throws with its output when it fails. */
function pgCommand(bin, command, args) {
  const file = join(bin, command);
  const [program, argv] = runningAsRoot() ? ["runuser", ["-u", USER, "--", file, ...args]] : [file, args];
  const result = spawnSync(program, argv, { encoding: "utf8" });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error?.message ?? ""}`.trim();
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}):\n${output}`);
  }
  return result.stdout;
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
 * @param {{ maxConnections?: number }} [options]
 */
export async function startPostgres(options = {}) {
  const bin = postgresBinDir();
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
    // A port found free may be taken before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        `-c port=${port}`,
        "-c listen_addresses=127.0.0.1",
        `-c unix_socket_directories=${dir}`,
        "-c fsync=on",
        "-c synchronous_commit=on",
        `-c max_connections=${options.maxConnections ?? 300}`,
      ].join(" ");
      try {
        pgCommand(bin, "pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", settings, "start"]);
        break;
      } catch (error) {
        const serverLog = existsSync(log) ? readFileSync(log, "utf8") : "";
        if (attempt < 5 && /could not bind|Address already in use/.test(serverLog)) continue;
        throw new Error(`${error.message}\n${serverLog}`);
      }
    }
    let stopped = false;
    return {
      url: `postgres://${USER}@127.0.0.1:${port}/postgres`,
      port,
      socketDir: dir,
      bin,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          pgCommand(bin, "pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
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
