#!/usr/bin/env node
// `npm run screenshots`: starts `supervisor dev` (and two more runners) in a temp dir, seeds it with a
// realistic mix of tasks, schedules and a fan-out, and saves each dashboard page in light and dark to
// docs/screenshots/ with headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "cli", "bin", "supervisor.js");
const out = join(root, "docs", "screenshots");
const dir = mkdtempSync(join(tmpdir(), "supervisor-screenshots-"));
const children = [];

/** Starts a CLI command and resolves with its output once `ready` matches. */
function start(args, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(ready);
      if (match) resolve(match);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${args[0]} exited with ${code}:\n${output}`)));
  });
}

let base;
async function api(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

const sh = (script, labels, extra = {}) => ({
  subprocess: { command: "sh", args: ["-c", script] },
  labels,
  ...extra,
});

async function seed() {
  const teams = ["billing", "search", "media", "growth"];
  const envs = ["prod", "staging"];
  const requests = [];
  for (let i = 0; i < 180; i++) {
    const team = teams[i % teams.length];
    const env = envs[i % 7 === 0 ? 1 : 0];
    const fail = i % 11 === 0;
    const script = fail
      ? `echo "resizing batch ${i}"; echo "error: object ${i} missing" >&2; exit 3`
      : `printf '\\033[32m✓\\033[0m processed batch ${i} (%s items)\\n' ${(i * 37) % 500}`;
    requests.push({
      spec: sh(
        script,
        { team, env, job: i % 3 === 0 ? "thumbnails" : "reindex" },
        { slot: i % 5 === 0 ? `${team}-nightly-${i}` : "" },
      ),
    });
  }
  await api("POST", "/v1/tasks:batchSubmit", { requests });
  // Held: no runner has a GPU.
  for (let i = 0; i < 6; i++) {
    await api("POST", "/v1/tasks", {
      spec: sh("train --epochs 3", { team: "ml", env: "prod" }, { runnerSelector: { matchLabels: { gpu: "a100" } } }),
    });
  }
  const long = await api("POST", "/v1/tasks", {
    spec: sh(
      "for i in $(seq 1 400); do printf '\\033[36m[%s]\\033[0m step %d: \\033[1mok\\033[0m\\n' \"$(date +%T)\" $i; sleep 1; done",
      { team: "search", env: "prod", job: "backfill" },
      { timeout: "900s" },
    ),
  });
  const parent = await api("POST", "/v1/tasks", {
    spec: sh(
      "echo rotating logs on $(hostname)",
      { team: "ops", env: "prod" },
      { placement: "PLACEMENT_EACH_MATCHING_RUNNER" },
    ),
  });
  for (const [id, cron, note] of [
    ["nightly-reindex", "0 2 * * *", ""],
    ["hourly-thumbnails", "15 * * * *", ""],
    ["invoice-export", "*/10 * * * *", "paused during the billing migration"],
  ]) {
    await api("POST", "/v1/schedules", {
      id,
      spec: { cron, timeZone: "UTC" },
      task: sh(`echo ${id}`, { team: "billing", schedule: id }),
    });
    if (note) await api("POST", `/v1/schedules/${id}:pause`, { note });
  }
  return { long: long.task.id, parent: parent.task.id };
}

async function main() {
  const [, devAddress, httpUrl] = await start(
    ["dev", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--metrics-listen", "off", "--capacity", "6"],
    /serving on (\S+)[\s\S]*HTTP API: (http:\S+)\/v1\/tasks[\s\S]*Stop with Ctrl-C/,
  );
  base = httpUrl;
  for (const [name, region, capacity] of [
    ["build-eu-1", "eu", "8"],
    ["build-us-1", "us", "4"],
  ]) {
    await start(
      ["runner", "--addr", devAddress, "--name", name, "--label", `region=${region}`, "--capacity", capacity],
      /connected/,
    );
  }
  // Drained first, so the fan-out leaves it out (a parent waits for a child on every matching runner).
  const runners = (await api("GET", "/v1/runners")).runners;
  const us = runners.find((r) => r.name === "build-us-1");
  await api("POST", `/v1/runners/${us.id}:drain`, {});
  const { long, parent } = await seed();
  // Let the batch finish, the long task print a few lines, the fan-out end.
  for (;;) {
    const pending = await api("GET", "/v1/tasks?filter.phases=TASK_PHASE_RUNNING&page_size=10");
    if ((pending.tasks ?? []).length <= 1) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 4000));

  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const pages = [
    ["overview", "/", "[data-overview]"],
    ["tasks", "/tasks", "tr[data-task-id]"],
    ["task", `/tasks/${long}`, "pre[data-output] .ansi-cyan-fg"],
    ["fan-out", `/tasks/${parent}`, "[data-children] tr td"],
    ["runners", "/runners", "[data-runner]"],
    ["schedules", "/schedules", "[data-schedule]"],
  ];
  for (const theme of ["light", "dark"]) {
    const context = await browser.newContext({ colorScheme: theme, viewport: { width: 1280, height: 800 } });
    for (const [name, path, ready] of pages) {
      const page = await context.newPage(); // one per page: nothing of the last one's streams carries over
      page.on("crash", () => console.error(`the page of ${path} crashed`));
      await page.goto(base + path);
      await page.waitForSelector(ready, { timeout: 15_000 });
      await page.waitForTimeout(500); // a script, not a test: let late rows and fonts settle (streams never idle)
      await page.screenshot({ path: join(out, `${name}-${theme}.png`) });
      console.log(`docs/screenshots/${name}-${theme}.png`);
      await page.close();
    }
    await context.close();
  }
  await browser.close();
}

try {
  await main();
} finally {
  for (const child of children.reverse()) child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
