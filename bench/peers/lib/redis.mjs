// A throw-away redis-server for BullMQ, as a child of this process on a free loopback port with its
// data in a fresh temp dir, configured to be as durable as Redis gets: every write appended to the
// AOF and fsynced before the reply (appendfsync always), no RDB snapshots.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { onCleanup } from "./cleanup.mjs";
import { ensureBinary } from "./install.mjs";
import { freePort, waitForPort } from "./net.mjs";

export const REDIS_SETTINGS = {
  appendonly: "yes",
  appendfsync: "always",
  save: "",
  bind: "127.0.0.1",
  "protected-mode": "yes",
  "maxmemory-policy": "noeviction",
};

let binary;
/** The redis-server binary (installed with apt-get when missing and we are root). */
export function redisBinary() {
  binary ??= ensureBinary({
    candidates: ["/usr/bin/redis-server", "/usr/local/bin/redis-server"],
    debianPackage: "redis-server",
    what: "redis-server",
  });
  return binary;
}

export function redisVersion() {
  const text = execFileSync(redisBinary(), ["--version"], { encoding: "utf8" });
  return /v=(\S+)/.exec(text)?.[1] ?? text.trim();
}

async function reportedSettings(port) {
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const settings = {};
    for (const key of Object.keys(REDIS_SETTINGS)) settings[key] = (await client.config("GET", key))[1];
    return settings;
  } finally {
    client.disconnect();
  }
}

/** Starts redis-server; `stop()` ends it and removes its files. */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), "peers-redis-"));
  const port = await freePort();
  const args = ["--port", String(port), "--dir", dir, "--daemonize", "no", "--loglevel", "warning"];
  for (const [key, value] of Object.entries(REDIS_SETTINGS)) args.push(`--${key}`, value);
  const child = spawn(redisBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const undo = onCleanup(`redis-server on port ${port}`, () => {
    if (alive()) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await waitForPort(port, { alive, what: "redis-server" });
  } catch (error) {
    undo();
    throw new Error(`${error.message}\n${stderr}`);
  }
  const reported = await reportedSettings(port);
  for (const key of ["appendonly", "appendfsync", "save"]) {
    if (reported[key] !== REDIS_SETTINGS[key]) {
      undo();
      throw new Error(`redis-server runs with ${key}="${reported[key]}", not "${REDIS_SETTINGS[key]}"`);
    }
  }
  return {
    host: "127.0.0.1",
    port,
    dir,
    /** The settings as the running server reports them (CONFIG GET). */
    reported,
    async stop() {
      if (alive()) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      undo();
    },
  };
}
