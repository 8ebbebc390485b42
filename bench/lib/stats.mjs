// Small statistics and reporting helpers shared by every scenario.
import { execFileSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, hostname, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { currentBackend, resultName } from "./backend.mjs";

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
/** Where result files go: bench/results, or BENCH_RESULTS_DIR (the smoke test keeps the committed ones intact). */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR || join(BENCH_DIR, "results");

/** Monotonic milliseconds (CLOCK_MONOTONIC: comparable across processes on one machine). */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Percentiles of a list of samples (ms). Nearest-rank on a sorted copy. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  const at = (q) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n,
    min: round(n ? sorted[0] : NaN),
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(n ? sorted[n - 1] : NaN),
    mean: round(n ? sum / n : NaN),
  };
}

export function round(value, digits = 3) {
  if (typeof value !== "number" || !Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function machine() {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model ?? "unknown",
    totalMemoryBytes: totalmem(),
    totalMemoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    hostname: hostname(),
    date: new Date().toISOString(),
    /** 1/5/15-minute load averages when the result was written: other work on the machine skews figures. */
    loadavg: loadavg().map((v) => round(v, 2)),
  };
}

/** Prints rows (objects) as an aligned text table. */
export function printTable(title, rows) {
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value) =>
    value === undefined || value === null ? "" : typeof value === "number" ? formatNumber(value) : String(value);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (values) =>
    values.map((value, i) => (i === 0 ? value.padEnd(widths[i]) : value.padStart(widths[i]))).join("  ");
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}

export function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toLocaleString("en-US", { maximumFractionDigits: 0 });
  if (Math.abs(value) >= 1) return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  return value.toLocaleString("en-US", { maximumSignificantDigits: 3 });
}

/** A target line: what was asked, what was measured, whether it was met. */
export function target(name, measured, op, goal, unit = "") {
  const met = op === ">=" ? measured >= goal : measured <= goal;
  return {
    target: name,
    goal: `${op} ${formatNumber(goal)}${unit}`,
    measured: `${formatNumber(round(measured, 2))}${unit}`,
    met: Number.isFinite(measured) ? (met ? "yes" : "NO") : "n/a",
  };
}

/** Which code was measured: the commit, uncommitted source changes, and when the server was built. */
export function build() {
  const root = dirname(BENCH_DIR);
  const git = (...args) => {
    try {
      return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  };
  let serverBuiltAt;
  try {
    serverBuiltAt = statSync(join(root, "server", "dist", "server.js")).mtime.toISOString();
  } catch {}
  const dirty = git("status", "--porcelain", "--", "server/src", "sdk/src", "proto");
  return {
    commit: git("rev-parse", "--short", "HEAD"),
    uncommittedSourceFiles: dirty === undefined ? undefined : dirty.split("\n").filter(Boolean).length,
    serverBuiltAt,
  };
}

/** Writes bench/results/<scenario>.json (<scenario>-<backend>.json off SQLite) with the machine attached. */
export function writeResult(scenario, result) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${resultName(scenario)}.json`);
  const body = { scenario, backend: currentBackend(), machine: machine(), build: build(), ...result };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`\nwrote ${path}`);
  return body;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` is truthy, polling; throws after `timeoutMs`. */
export async function waitUntil(check, timeoutMs, what, intervalMs = 20) {
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
