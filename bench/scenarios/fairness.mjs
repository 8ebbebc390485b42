// fairness: dispatch throughput with 1 000 fairness keys and with 1 000 concurrency keys, against the same
// backlog with no keys (same run), and each fairness key's share of the dispatches against its ideal.
//
// Each pass: a fresh server; 1 000 tenants submit 24 no-op tasks each, tenant after tenant (as tenants
// submit in bulk), while no runner is connected, so the whole backlog waits; then 4 SDK runners (2 processes,
// capacity 64 each) connect and drain it. Throughput is first SUCCEEDED → last SUCCEEDED (a watch stream).
// The dispatch order is read from the store afterwards: run ids are UUIDv7s the server makes as it assigns.
import { embedded } from "@supervisor/sdk";
import { connectDatabase } from "../lib/backend.mjs";
import { submitRequest, taskClient, unary } from "../lib/clients.mjs";
import { Database } from "../lib/deps.mjs";
import { startSupervisor, startWorker } from "../lib/procs.mjs";
import { nowMs, printTable, round, sleep, summarize, target, writeResult } from "../lib/stats.mjs";
import { watchSucceeded } from "../lib/watch.mjs";

export const description =
  "dispatch throughput with 1 000 fairness keys and with 1 000 concurrency keys (vs no keys); fairness shares vs ideal";

const LAYOUT = [
  ["r1", "r2"],
  ["r3", "r4"],
];
const CAPACITY = 64;
const PER_KEY = 24;
const BATCH = 500;
/** Every other tenant has weight 2: the ideal share of a dispatch is weight / sum of weights. */
const weightOf = (tenant) => 1 + (tenant % 2);
/** Concurrency keys: each tenant at most this many running (1 000 keys × 2 > 256 slots: keys hold often). */
const MAX_RUNNING = 2;

const LABELS = {
  baseline: "no keys (baseline)",
  fairness: "1 fairness key per tenant",
  fairnessInterleaved: "1 fairness key per tenant, submitted interleaved",
  concurrency: `1 concurrency key per tenant (max_running ${MAX_RUNNING})`,
};

function specOf(mode, tenant) {
  const labels = { tenant: `t${tenant}` };
  const key = "tenant-{labels.tenant}";
  if (mode === "fairness") return embedded("noop", {}, { labels, fairness: { key, weight: weightOf(tenant) } });
  if (mode === "concurrency") return embedded("noop", {}, { labels, concurrency: [{ key, maxRunning: MAX_RUNNING }] });
  return embedded("noop", {}, { labels });
}

/** Every run's task id in dispatch order, straight from the store (SQLite file or PostgreSQL database). */
async function dispatchOrder(server) {
  const sql = "SELECT id, task_id FROM runs ORDER BY id";
  if (server.backend === "postgres") {
    const client = await connectDatabase(server.db);
    try {
      return (await client.query(sql)).rows.map((row) => row.task_id);
    } finally {
      await client.end();
    }
  }
  const db = new Database(server.db, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(sql)
      .all()
      .map((row) => row.task_id);
  } finally {
    db.close();
  }
}

async function pass(name, mode, { tenants, timeoutMs, interleaved = false }) {
  const server = await startSupervisor();
  const client = taskClient(server.address);
  const workers = [];
  try {
    const tenantOf = new Map();
    const requests = [];
    for (let i = 0; i < PER_KEY * tenants; i++) {
      const tenant = interleaved ? i % tenants : Math.floor(i / PER_KEY);
      requests.push({ tenant, request: submitRequest(specOf(mode, tenant)) });
    }
    const submitStart = nowMs();
    for (let start = 0; start < requests.length; start += BATCH) {
      const slice = requests.slice(start, start + BATCH);
      const { tasks } = await unary(client, "batchSubmitTasks", { requests: slice.map((r) => r.request) });
      for (const [i, task] of tasks.entries()) tenantOf.set(task.id, slice[i].tenant);
    }
    const submitMs = nowMs() - submitStart;
    // The backlog's waiting reasons are rewritten a second after it arrived: let that pass before measuring.
    await sleep(2_000);
    const { revision } = await unary(client, "listTasks", { pageSize: 1, pageToken: "", filter: undefined });
    const finishedAt = [];
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const watch = watchSucceeded(client, {
      sinceRevision: revision,
      onSucceeded: (_task, at) => {
        finishedAt.push(at);
        if (finishedAt.length >= requests.length) done();
      },
    });
    await watch.live;
    const serverCpu = server.cpu();
    for (const [p, names] of LAYOUT.entries()) {
      workers.push(
        startWorker("runner-worker", {
          address: server.address,
          runners: names.map((name) => ({ name: `${name}-p${p}`, capacity: CAPACITY })),
        }),
      );
    }
    await Promise.all(workers.map((w) => w.next("ready", 30_000)));
    const endedEarly = await Promise.race([
      finished.then(() => undefined),
      sleep(timeoutMs).then(() => new Error(`not every task succeeded within ${timeoutMs} ms`)),
      watch.ended.then((e) => e ?? new Error("watch ended")),
    ]);
    watch.cancel();
    if (endedEarly) throw new Error(`${mode}: ${endedEarly.details ?? endedEarly.message}`);
    const drainMs = finishedAt.at(-1) - finishedAt[0];
    const cpu = serverCpu();
    const order = (await dispatchOrder(server)).map((taskId) => tenantOf.get(taskId));
    return {
      mode,
      label: LABELS[name],
      tasks: requests.length,
      submitMs: round(submitMs, 1),
      drainMs: round(drainMs, 1),
      tasksPerSec: ((finishedAt.length - 1) / drainMs) * 1000,
      serverCpu: round(cpu.utilization, 2),
      // Less sensitive than throughput to other work on a shared machine.
      serverCpuUsPerTask: round((cpu.cpuMs * 1000) / requests.length, 1),
      shares: sharesOf(order, tenants),
    };
  } finally {
    client.close();
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
  }
}

/**
 * Each tenant's dispatches among the first `window` against its ideal share of them, window × weight / sum
 * of weights, as fairness with these weights promises. The window gives a tenant of weight w an ideal of
 * 10 × w dispatches (so one dispatch off is 10 % for weight 1), while every tenant still has tasks waiting
 * (PER_KEY > 20).
 */
function sharesOf(order, tenants) {
  const totalWeight = Array.from({ length: tenants }, (_, t) => weightOf(t)).reduce((a, b) => a + b, 0);
  const window = 10 * totalWeight;
  const got = new Array(tenants).fill(0);
  for (const tenant of order.slice(0, window)) got[tenant]++;
  const perKey = got.map((count, tenant) => {
    const ideal = (window * weightOf(tenant)) / totalWeight;
    return { tenant, weight: weightOf(tenant), ideal: round(ideal, 2), got: count, deviation: round(count - ideal, 2) };
  });
  const absolute = perKey.map((k) => Math.abs(k.deviation));
  const relative = perKey.map((k) => Math.abs(k.deviation) / k.ideal);
  const byWeight = [1, 2].map((weight) => {
    const keys = perKey.filter((k) => k.weight === weight);
    const counts = keys.map((k) => k.got);
    return { weight, keys: keys.length, ideal: keys[0]?.ideal, min: Math.min(...counts), max: Math.max(...counts) };
  });
  return {
    window,
    maxDeviation: Math.max(...absolute),
    meanDeviation: round(absolute.reduce((a, b) => a + b, 0) / tenants, 3),
    maxRelativeDeviation: round(Math.max(...relative), 4),
    relativeDeviation: summarize(relative.map((r) => r * 100)),
    tenantsWithin10Percent: relative.filter((r) => r <= 0.1 + 1e-9).length,
    byWeight,
    perKey,
  };
}

/**
 * The dispatch index alone, in this process (no store, no network): µs per task to upsert the backlog and
 * to take it out in dispatch order (next + take, as the dispatcher does), without keys and with `keys`
 * fairness keys. Best of 5 rounds (each figure on its own): the least disturbed by JIT warm-up and other work.
 */
async function indexCost(tenants, keyed) {
  const { DispatchIndex } = await import("../../server/dist/execution/dispatch-index.js");
  const { parseLabelSelector } = await import("../../server/dist/core/selector.js");
  const selector = parseLabelSelector("");
  const runner = { id: "r", name: "r", labels: {}, kinds: ["embedded"], capacity: 1e9, running: 0, acceptsWork: true };
  const best = { upsertUs: Number.POSITIVE_INFINITY, dispatchUs: Number.POSITIVE_INFINITY };
  for (let round = 0; round < 5; round++) {
    const index = new DispatchIndex();
    index.upsertRunner(runner);
    const t0 = nowMs();
    for (let i = 0; i < PER_KEY * tenants; i++) {
      const tenant = Math.floor(i / PER_KEY);
      const fairness = keyed ? { key: `tenant-t${tenant}`, weight: weightOf(tenant) } : undefined;
      const taskId = `${round}-${String(i).padStart(8, "0")}`;
      index.upsert({ taskId, priority: 0, readyAtMs: 0, slot: "", kind: "embedded", selector, fairness }, 0);
    }
    const t1 = nowMs();
    let n = 0;
    // A build from before fairness keys has no take: remove is what its dispatcher called.
    const take = (index.take ?? index.remove).bind(index);
    for (let pick = index.next(); pick; pick = index.next(), n++) take(pick.entry.taskId);
    const t2 = nowMs();
    best.upsertUs = Math.min(best.upsertUs, ((t1 - t0) * 1000) / n);
    best.dispatchUs = Math.min(best.dispatchUs, ((t2 - t1) * 1000) / n);
  }
  return { upsertUs: round(best.upsertUs, 2), dispatchUs: round(best.dispatchUs, 2) };
}

export async function run(opts) {
  const tenants = opts.quick ? 100 : 1_000;
  const timeoutMs = opts.quick ? 30_000 : 120_000;
  const settings = { tenants, timeoutMs };
  const baseline = await pass("baseline", "baseline", settings);
  const fairness = await pass("fairness", "fairness", settings);
  // Tenant 0, 1, 2, …, 0, 1, 2, …: the fair order is the submission order, as the baseline's is, so the
  // store writes the same rows in the same order and the difference is what the fair queue costs.
  const interleaved = await pass("fairnessInterleaved", "fairness", { ...settings, interleaved: true });
  const concurrency = await pass("concurrency", "concurrency", settings);
  const passes = [baseline, fairness, interleaved, concurrency];
  const index = { noKeys: await indexCost(tenants, false), fairnessKeys: await indexCost(tenants, true) };
  printTable(
    `fairness: ${tenants} tenants × ${PER_KEY} no-op tasks, all waiting, then 4 runners (capacity ${CAPACITY} each)`,
    passes.map((p) => ({
      pass: p.label,
      tasks: p.tasks,
      "drain tasks/s": round(p.tasksPerSec, 0),
      "drain s": round(p.drainMs / 1000, 2),
      "server CPU µs/task": p.serverCpuUsPerTask,
      "submit s": round(p.submitMs / 1000, 2),
    })),
  );
  printTable(`the dispatch index alone, ${PER_KEY * tenants} tasks (µs per task, best of 5)`, [
    { tasks: "no keys", upsert: index.noKeys.upsertUs, "next + take": index.noKeys.dispatchUs },
    {
      tasks: `${tenants} fairness keys`,
      upsert: index.fairnessKeys.upsertUs,
      "next + take": index.fairnessKeys.dispatchUs,
    },
  ]);
  printTable(
    `shares of the first ${fairness.shares.window} dispatches vs ideal (weights 1 and 2, every other tenant)`,
    [baseline, fairness, interleaved].map((p) => ({
      pass: p.label,
      "max |got − ideal|": round(p.shares.maxDeviation, 2),
      "mean |got − ideal|": p.shares.meanDeviation,
      "max relative": `${round(p.shares.maxRelativeDeviation * 100, 1)} %`,
      "tenants within 10 %": p.shares.tenantsWithin10Percent,
      "weight 1: ideal / min–max": `${p.shares.byWeight[0].ideal} / ${p.shares.byWeight[0].min}–${p.shares.byWeight[0].max}`,
      "weight 2: ideal / min–max": `${p.shares.byWeight[1].ideal} / ${p.shares.byWeight[1].min}–${p.shares.byWeight[1].max}`,
    })),
  );
  const ratio = (p) => p.tasksPerSec / baseline.tasksPerSec;
  const cpuRatio = (p) => p.serverCpuUsPerTask / baseline.serverCpuUsPerTask;
  const ratios = {
    fairnessOverBaseline: ratio(fairness),
    fairnessInterleavedOverBaseline: ratio(interleaved),
    concurrencyOverBaseline: ratio(concurrency),
    cpuPerTaskFairnessOverBaseline: cpuRatio(fairness),
    cpuPerTaskFairnessInterleavedOverBaseline: cpuRatio(interleaved),
    cpuPerTaskConcurrencyOverBaseline: cpuRatio(concurrency),
  };
  printTable(
    "ratios to the baseline (no keys)",
    [fairness, interleaved, concurrency].map((p) => ({
      pass: p.label,
      "drain throughput": round(ratio(p), 2),
      "server CPU per task": round(cpuRatio(p), 2),
    })),
  );
  const targets = [
    target("fairness: every tenant within one dispatch of its share", fairness.shares.maxDeviation, "<=", 1),
    target("fairness: tenants within 10 % of ideal", fairness.shares.tenantsWithin10Percent, ">=", tenants),
    target(`index: next + take with ${tenants} fairness keys`, index.fairnessKeys.dispatchUs, "<=", 20, " µs"),
  ];
  printTable("targets", targets);
  const summary = (p) => ({ ...p, shares: { ...p.shares, perKey: undefined } });
  return writeResult("fairness", {
    settings: {
      tenants,
      tasksPerTenant: PER_KEY,
      weights: "1 + tenant % 2",
      maxRunning: MAX_RUNNING,
      capacityPerRunner: CAPACITY,
    },
    figures: {
      baseline: summary(baseline),
      fairness: summary(fairness),
      fairnessInterleaved: summary(interleaved),
      concurrency: summary(concurrency),
      index,
    },
    perKey: { fairness: fairness.shares.perKey, baseline: baseline.shares.perKey },
    ratios,
    targets,
  });
}
