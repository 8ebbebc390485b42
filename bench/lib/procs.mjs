// Child processes: the supervisor (bench/serve.mjs), the no-op gRPC server
// (bench/noop-serve.mjs) and client workers (bench/workers/*.mjs).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { currentBackend, freshDatabase } from "./backend.mjs";
import { BENCH_DIR, nowMs } from "./stats.mjs";

/** Resident set size of a process, from /proc/<pid>/status (VmRSS), in bytes. */
export function rssOf(pid) {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Measures a process's CPU use over an interval: call start(), then stop() → { cpuMs, utilization }. */
export function cpuMeter(pid) {
  const t0 = nowMs();
  const c0 = cpuMsOf(pid);
  return () => {
    const cpuMs = cpuMsOf(pid) - c0;
    return { cpuMs, utilization: cpuMs / (nowMs() - t0) };
  };
}

const children = new Set();
function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
}
/** Ends every child this process started (by its own handle), e.g. on a fatal error. */
export function killChildren() {
  for (const child of children) child.kill("SIGKILL");
}
process.once("exit", killChildren);

/** An IPC mailbox over a child's messages: `next(type)` resolves with the next message of that type. */
function mailbox(child, name) {
  const inbox = [];
  const waiters = [];
  child.on("message", (message) => {
    const index = waiters.findIndex((w) => w.type === message?.type);
    if (index >= 0) {
      const [waiter] = waiters.splice(index, 1);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    } else {
      inbox.push(message);
      if (inbox.length > 10_000) inbox.shift();
    }
  });
  child.once("exit", (code, signal) => {
    for (const waiter of waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${name} exited (${code ?? signal}) while waiting for "${waiter.type}"`));
    }
  });
  return {
    next(type, timeoutMs = 60_000) {
      const index = inbox.findIndex((m) => m?.type === type);
      if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0]);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`${name} has exited`));
      return new Promise((resolve, reject) => {
        const waiter = { type, resolve, reject };
        waiter.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${name}: no "${type}" message within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    /** Every queued message of a type (non-blocking). */
    drain(type) {
      const taken = inbox.filter((m) => m?.type === type);
      for (const m of taken) inbox.splice(inbox.indexOf(m), 1);
      return taken;
    },
  };
}

/** Keeps the last lines a child wrote on stderr, to explain a failure. */
function tailStderr(child, keep = 40) {
  const lines = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    lines.push(line);
    if (lines.length > keep) lines.shift();
    if (process.env.BENCH_VERBOSE) process.stderr.write(`  [child ${child.pid}] ${line}\n`);
  });
  return lines;
}

function firstJsonLine(child, name, timeoutMs, stderrLines) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${stderrLines.join("\n")}`)),
      timeoutMs,
    );
    const rl = createInterface({ input: child.stdout });
    rl.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`${name} printed ${line}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before starting:\n${stderrLines.join("\n")}`));
    });
  });
}

function waitExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Starts the supervisor in a child process on 127.0.0.1:0 with a fresh SQLite file in a temp dir, or
 * with `--backend postgres` a fresh database of the run's cluster (durable defaults unless `settings`
 * says otherwise). `db` is the file's path or the database's postgres:// URL.
 */
export async function startSupervisor(settings = {}, options = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "supervisor-bench-"));
  const database = settings.db === undefined && currentBackend() === "postgres" ? await freshDatabase() : undefined;
  const db = settings.db ?? database?.url ?? join(dir, "supervisor.db");
  const merged = {
    listen: "127.0.0.1:0",
    db,
    shutdownGracePeriod: "2s",
    // Benchmarks open thousands of streams from one (anonymous, loopback) client.
    maxStreamsPerClient: 1_000_000,
    maxRunnersPerClient: 1_000_000,
    // Metrics are counted either way; an endpoint on a free port lets several supervisors run at once.
    metricsListen: "127.0.0.1:0",
    ...settings,
  };
  const execArgv = ["--expose-gc", ...(options.execArgv ?? [])];
  const child = spawn(process.execPath, [...execArgv, join(BENCH_DIR, "serve.mjs"), JSON.stringify(merged)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    cwd: options.cwd ?? dir,
    env: { ...process.env, SUPERVISOR_ADDR: "", SUPERVISOR_CONFIG: "" },
  });
  track(child);
  const stderr = tailStderr(child);
  const box = mailbox(child, "supervisor");
  let address;
  let httpUrl;
  try {
    ({ address, httpUrl } = await firstJsonLine(child, "supervisor", 30_000, stderr));
  } catch (error) {
    await database?.drop();
    throw error;
  }
  return {
    address,
    /** Base URL of the HTTP/JSON API, when settings.httpListen asked for it. */
    httpUrl,
    pid: child.pid,
    dir,
    db,
    backend: database ? "postgres" : "sqlite",
    child,
    stderr,
    rss: () => rssOf(child.pid),
    cpu: () => cpuMeter(child.pid),
    settledRss: settledRssOf(child, box),
    /** Clean shutdown (checkpoints the WAL); keeps the files unless remove is set. */
    async stop({ remove = true } = {}) {
      if (child.connected) child.send({ cmd: "stop" });
      else child.kill("SIGTERM");
      const code = await waitExit(child, 20_000);
      if (remove && !options.dir) rmSync(dir, { recursive: true, force: true });
      if (remove) await database?.drop();
      return code;
    },
  };
}

/** Full GC in the child (it answers the "gc" command over IPC), then its RSS in bytes. */
function settledRssOf(child, box) {
  let gcId = 0;
  return async (settleMs = 500) => {
    await new Promise((r) => setTimeout(r, settleMs));
    child.send({ cmd: "gc", id: ++gcId });
    await box.next("gc", 30_000);
    return rssOf(child.pid);
  };
}

/** The raw grpc-js no-op server (bench/noop-serve.mjs) in a child process. */
export async function startNoop(settings = {}) {
  const child = spawn(process.execPath, ["--expose-gc", join(BENCH_DIR, "noop-serve.mjs"), JSON.stringify(settings)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  track(child);
  const stderr = tailStderr(child);
  const box = mailbox(child, "noop server");
  const { address } = await firstJsonLine(child, "noop server", 30_000, stderr);
  return {
    address,
    pid: child.pid,
    child,
    box,
    rss: () => rssOf(child.pid),
    cpu: () => cpuMeter(child.pid),
    settledRss: settledRssOf(child, box),
    send: (message) => child.send(message),
    async stop() {
      child.kill("SIGTERM");
      await waitExit(child, 10_000);
    },
  };
}

/** A client worker (bench/workers/<name>.mjs) with an IPC mailbox. */
export function startWorker(name, args = {}) {
  return startWorkerScript(join(BENCH_DIR, "workers", `${name}.mjs`), args, `worker ${name}`);
}

/** A worker from any script (args as JSON in argv[2]) with an IPC mailbox; ended with the bench. */
export function startWorkerScript(file, args = {}, name = file) {
  const child = spawn(process.execPath, [file, JSON.stringify(args)], {
    stdio: ["ignore", "inherit", "pipe", "ipc"],
  });
  track(child);
  const stderr = tailStderr(child);
  const box = mailbox(child, name);
  return {
    pid: child.pid,
    child,
    stderr,
    send: (message) => child.connected && child.send(message),
    next: (type, timeoutMs) => box.next(type, timeoutMs),
    drain: (type) => box.drain(type),
    async stop(timeoutMs = 10_000) {
      if (child.connected) child.send({ cmd: "stop" });
      const code = await waitExit(child, timeoutMs);
      return code;
    },
  };
}
