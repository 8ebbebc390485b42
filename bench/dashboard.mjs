#!/usr/bin/env node
// The dashboard with many tasks (issue 23's "first paint under a second"): a measurement, never a test.
// Starts `supervisor serve` on a fresh SQLite file, seeds --tasks tasks (default 50 000) with batch submits
// over the HTTP API, then opens the tasks page in headless Chromium --rounds times (a fresh page each):
// first contentful paint, the first task row in the DOM (both from navigation start, measured in the page),
// and paging forward (click "Older" → the next page's rows shown). Writes bench/results/dashboard.json.
//   node bench/dashboard.mjs [--tasks 50000] [--rounds 5]
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values } = parseArgs({ options: { tasks: { type: "string" }, rounds: { type: "string" } } });
const TASKS = Number(values.tasks ?? 50_000);
const ROUNDS = Number(values.rounds ?? 5);
const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "supervisor-bench-dashboard-"));

const server = spawn(
  process.execPath,
  [
    join(root, "cli", "bin", "supervisor.js"),
    "serve",
    "--db",
    join(dir, "bench.db"),
    "--listen",
    "127.0.0.1:0",
    "--http-listen",
    "127.0.0.1:0",
    "--metrics-listen",
    "off",
  ],
  { stdio: ["ignore", "pipe", "pipe"] },
);
const base = await new Promise((resolve, reject) => {
  let output = "";
  const onData = (chunk) => {
    output += chunk;
    const match = /HTTP API on (http:\/\/[\d.:]+)/.exec(output);
    if (match) resolve(match[1]);
  };
  server.stdout.on("data", onData);
  server.stderr.on("data", onData);
  server.on("exit", (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const seedStart = performance.now();
  const spec = {
    subprocess: { command: "true" },
    labels: { team: "bench" },
    runnerSelector: { matchLabels: { pool: "none" } },
  };
  for (let done = 0; done < TASKS; done += 1000) {
    const requests = Array.from({ length: Math.min(1000, TASKS - done) }, () => ({ spec }));
    const response = await fetch(`${base}/v1/tasks:batchSubmit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ requests }),
    });
    if (!response.ok) throw new Error(`batch submit: ${response.status} ${await response.text()}`);
  }
  const seedSeconds = (performance.now() - seedStart) / 1000;
  console.log(`seeded ${TASKS} tasks in ${seedSeconds.toFixed(1)} s`);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // In the page, from navigation start: when the first row is in the DOM, and the first contentful paint.
    await page.addInitScript(() => {
      const marks = {};
      globalThis.__marks = marks;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (entry.name === "first-contentful-paint") marks.fcp = entry.startTime;
      }).observe({ type: "paint", buffered: true });
      new MutationObserver((_, observer) => {
        if (document.querySelector("tr[data-task-id]")) {
          marks.firstRow = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${base}/tasks`);
    await page.waitForSelector("tr[data-task-id]");
    await page.waitForFunction(() => globalThis.__marks.fcp !== undefined);
    const marks = await page.evaluate(() => globalThis.__marks);
    const pageMs = [];
    for (let i = 0; i < 5; i++) {
      const first = await page.getAttribute("tr[data-task-id]", "data-task-id");
      const start = await page.evaluate(() => performance.now());
      await page.click("button[data-page=older]");
      await page.waitForFunction(
        (previous) => document.querySelector("tr[data-task-id]")?.getAttribute("data-task-id") !== previous,
        first,
      );
      pageMs.push((await page.evaluate(() => performance.now())) - start);
    }
    rounds.push({ fcpMs: marks.fcp, firstRowMs: marks.firstRow, pageForwardMs: pageMs });
    await context.close();
  }
  await browser.close();
  const result = {
    scenario: "dashboard",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) },
    node: process.version,
    tasks: TASKS,
    seedSeconds: +seedSeconds.toFixed(1),
    rounds,
    median: {
      fcpMs: +median(rounds.map((r) => r.fcpMs)).toFixed(1),
      firstRowMs: +median(rounds.map((r) => r.firstRowMs)).toFixed(1),
      pageForwardMs: +median(rounds.flatMap((r) => r.pageForwardMs)).toFixed(1),
    },
    max: {
      firstRowMs: +Math.max(...rounds.map((r) => r.firstRowMs)).toFixed(1),
      pageForwardMs: +Math.max(...rounds.flatMap((r) => r.pageForwardMs)).toFixed(1),
    },
  };
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(join(root, "bench", "results", "dashboard.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ median: result.median, max: result.max }));
} finally {
  server.kill("SIGTERM");
  await new Promise((resolve) => server.once("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
}
