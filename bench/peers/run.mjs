// npm run bench:peers [-- --quick] [--jobs N] [--rounds R] ...  (node bench/peers/run.mjs --help)
// Supervisor against BullMQ, pg-boss and graphile-worker on this machine, each with durable settings,
// in one interleaved run: round 1 of every system, then round 2, … (the order of the systems rotates
// each round), so machine noise hits all alike. Medians over the rounds go to stdout as a markdown
// table and to bench/results/peers.json.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadMeter } from "../lib/load.mjs";
import { machine, round, summarize, writeResult } from "../lib/stats.mjs";
import { cleanupAll } from "./lib/cleanup.mjs";
import { POSTGRES_SETTINGS, postgresVersion, startPostgres } from "./lib/postgres.mjs";
import { waitQuiet } from "./lib/quiet.mjs";
import { REDIS_SETTINGS, redisBinary, redisVersion } from "./lib/redis.mjs";
import { comparison, fmt, medians, ROW_LABELS } from "./lib/report.mjs";
import { batchEnqueue, endToEnd, pickupLatency, SCENARIOS, singleEnqueue } from "./lib/scenarios.mjs";

const PEERS_DIR = fileURLToPath(new URL(".", import.meta.url));
const SYSTEMS = ["supervisor", "bullmq", "pg-boss", "graphile-worker"];

const { values: flags } = parseArgs({
  options: {
    help: { type: "boolean", short: "h" },
    quick: { type: "boolean" },
    jobs: { type: "string" },
    "warmup-jobs": { type: "string" },
    rounds: { type: "string" },
    samples: { type: "string" },
    "latency-budget-s": { type: "string" },
    "in-flight": { type: "string" },
    batch: { type: "string" },
    "batch-in-flight": { type: "string" },
    workers: { type: "string" },
    concurrency: { type: "string" },
    "timeout-s": { type: "string" },
    systems: { type: "string" },
    scenarios: { type: "string" },
    "wait-quiet": { type: "string" },
  },
});
if (flags.help) {
  console.log(`usage: npm run bench:peers [-- options]   (or: node bench/peers/run.mjs [options])
  --quick                 smoke run: 2 000 jobs, 1 round, 50 latency samples (figures not comparable)
  --jobs N                jobs per round in the throughput scenarios (default 20000)
  --warmup-jobs N         jobs enqueued (and, end to end, completed) before each throughput pass, not
                          counted (default 2000)
  --rounds R              rounds; the table shows medians (default 5)
  --samples S             pickup-latency samples per round (default 500)
  --latency-budget-s T    time limit of one latency pass (default 30; a polling system gets fewer samples)
  --in-flight C           single enqueue: concurrent callers (default 64)
  --batch B               batch enqueue and end to end: jobs per call (default 100)
  --batch-in-flight C     batch enqueue and end to end: concurrent callers (default 4)
  --workers W             end to end: consumer processes (default 4)
  --concurrency C         end to end: jobs in flight per consumer process (default 16)
  --timeout-s T           limit of one scenario pass (default 180)
  --systems a,b           among ${SYSTEMS.join(", ")} (default all)
  --scenarios a,b         among ${SCENARIOS.join(", ")} (default all)
  --wait-quiet S          on a shared machine: before each system's round, wait (up to S seconds) until
                          other processes are idle`);
  process.exit(0);
}

const quick = Boolean(flags.quick);
const int = (name, fallback, min = 1) => {
  const value = flags[name] === undefined ? fallback : Number(flags[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return value;
};
const list = (name, all) => {
  const chosen = flags[name] ? flags[name].split(",").map((s) => s.trim()) : all;
  for (const item of chosen) if (!all.includes(item)) throw new Error(`--${name}: "${item}" is not one of ${all}`);
  return all.filter((item) => chosen.includes(item));
};
const opts = {
  jobs: int("jobs", quick ? 2_000 : 20_000),
  warmupJobs: int("warmup-jobs", quick ? 200 : 2_000, 0),
  rounds: int("rounds", quick ? 1 : 5),
  samples: int("samples", quick ? 50 : 500),
  budgetMs: int("latency-budget-s", quick ? 5 : 30) * 1000,
  inFlight: int("in-flight", 64),
  batch: int("batch", 100),
  batchInFlight: int("batch-in-flight", 4),
  workers: int("workers", 4),
  concurrency: int("concurrency", 16),
  timeoutMs: int("timeout-s", quick ? 60 : 180) * 1000,
};
const waitQuietSeconds = flags["wait-quiet"] === undefined ? 0 : int("wait-quiet", 300);
const systemIds = list("systems", SYSTEMS);
const scenarios = list("scenarios", SCENARIOS);
const systems = [];
for (const id of systemIds) systems.push({ ...(await import(`./systems/${id}.mjs`)) });

const packageVersion = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
const libraryVersion = (name) => packageVersion(join(PEERS_DIR, "node_modules", name));

const needsPostgres = systems.some((s) => s.id === "pg-boss" || s.id === "graphile-worker");
const needsRedis = systems.some((s) => s.id === "bullmq");
let postgres;
const figures = {};
/** Every latency sample of every round, per system and variant (the table shows medians of the rounds). */
const pooled = {};
const loads = [];
let failures = 0;

async function pass(system, scenario, variant) {
  const store = await system.open({ postgres });
  store.system = system.id;
  try {
    if (scenario === "single") return await singleEnqueue(store, opts);
    if (scenario === "batch") return await batchEnqueue(store, opts);
    if (scenario === "e2e") return await endToEnd(store, opts, variant.batched ? { batched: true } : {});
    return await pickupLatency(store, opts, variant);
  } finally {
    await store.close().catch((error) => console.error(`  ${system.id}: close failed: ${error?.message ?? error}`));
  }
}

function variantsOf(system, scenario) {
  if (scenario === "latency") return system.latencyVariants;
  if (scenario === "e2e") return system.e2eVariants ?? [{ key: "default" }];
  return [{ key: "default" }];
}

const describe = (scenario, r) =>
  scenario === "latency"
    ? `p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms (${r.n} samples)`
    : `${fmt(r.jobsPerSec)} jobs/s in ${fmt(r.elapsedMs / 1000)} s`;

try {
  const m = machine();
  console.log(`machine: ${m.cores} cores, ${m.cpuModel}, ${m.totalMemoryGiB} GiB, node ${m.node}, ${m.date}`);
  console.log(
    `settings: ${JSON.stringify(opts)}; systems: ${systemIds.join(", ")}; scenarios: ${scenarios.join(", ")}`,
  );
  if (needsRedis) redisBinary(); // installs it now, before any timing, if it is missing
  if (needsPostgres) {
    postgres = await startPostgres();
    console.log(`PostgreSQL on 127.0.0.1:${postgres.port}: ${JSON.stringify(postgres.showSettings())}`);
  }
  for (let r = 0; r < opts.rounds; r++) {
    const order = systems.map((_, k) => systems[(k + r) % systems.length]);
    console.log(`\n=== round ${r + 1}/${opts.rounds}: ${order.map((s) => s.id).join(" → ")}`);
    for (const system of order) {
      if (waitQuietSeconds) await waitQuiet(waitQuietSeconds, () => postgres?.cpuTicks() ?? 0);
      const meter = loadMeter({ extraTicks: () => postgres?.cpuTicks() ?? 0 });
      for (const scenario of scenarios) {
        for (const variant of variantsOf(system, scenario)) {
          const slot = (((figures[system.id] ??= {})[scenario] ??= {})[variant.key] ??= []);
          const name = `${system.id} ${scenario}${variant.key === "default" ? "" : ` (${variant.key})`}`;
          try {
            const result = await pass(system, scenario, variant);
            if (result.samples) ((pooled[system.id] ??= {})[variant.key] ??= []).push(...result.samples);
            slot.push({ round: r + 1, ...result, samples: undefined });
            console.log(`  ${name}: ${describe(scenario, result)}`);
          } catch (error) {
            failures++;
            slot.push({ round: r + 1, error: String(error?.message ?? error) });
            console.error(`  ${name} FAILED: ${error?.stack ?? error}`);
          }
        }
      }
      const load = meter();
      loads.push({ round: r + 1, system: system.id, ...load });
      if (load.otherProcessesCores > 0.25) {
        console.log(`  WARNING: other processes used ${load.otherProcessesCores} cores during ${system.id}`);
      }
    }
  }

  const cells = medians(figures);
  const table = comparison(systems, scenarios, cells);
  console.log(
    `\nmedians of ${opts.rounds} round(s), ${fmt(opts.jobs)} no-op jobs per throughput pass, ` +
      `${opts.samples} latency samples (or ${opts.budgetMs / 1000} s) per pass${quick ? " — QUICK: not comparable" : ""}\n`,
  );
  console.log(table.markdown);
  console.log(
    "\nratios: throughput Supervisor ÷ peer (> 1: Supervisor is faster); latency Supervisor ÷ peer, p50 / p99 " +
      "(< 1: Supervisor is faster). Extra figures in a cell are the variants named there (see README).",
  );
  const versions = {
    supervisor: packageVersion(join(PEERS_DIR, "..", "..", "server")),
    redis: needsRedis ? redisVersion() : undefined,
    postgresql: needsPostgres ? postgresVersion() : undefined,
    bullmq: libraryVersion("bullmq"),
    ioredis: libraryVersion("ioredis"),
    "pg-boss": libraryVersion("pg-boss"),
    "graphile-worker": libraryVersion("graphile-worker"),
    pg: libraryVersion("pg"),
  };
  console.log(`\nversions: ${JSON.stringify(versions)}`);
  writeResult("peers", {
    quick,
    settings: {
      ...opts,
      order: "interleaved: round r runs every system, the system order rotated by r; each pass on a fresh store",
      redis: REDIS_SETTINGS,
      postgresql: { ...POSTGRES_SETTINGS, reported: postgres?.showSettings() },
      latencyClock: "process.hrtime (CLOCK_MONOTONIC); the idle worker runs in the enqueuing process",
      e2eEnd: "consumers' handler counts reach N, then the store is polled every 2 ms until nothing is unfinished",
      systems: Object.fromEntries(
        systems.map((s) => [
          s.id,
          { label: s.label, latencyVariants: s.latencyVariants, e2eVariants: s.e2eVariants ?? [{ key: "default" }] },
        ]),
      ),
    },
    versions,
    rows: Object.fromEntries(scenarios.map((s) => [s, ROW_LABELS[s]])),
    medians: cells,
    ratios: table.ratios,
    table: table.markdown,
    rounds: figures,
    latencyPooledOverRounds: Object.fromEntries(
      Object.entries(pooled).map(([id, variants]) => [
        id,
        Object.fromEntries(Object.entries(variants).map(([key, samples]) => [key, summarize(samples)])),
      ]),
    ),
    machineLoad: loads.map((l) => ({ ...l, seconds: round(l.seconds, 1) })),
    failures,
  });
} finally {
  postgres?.stop();
  cleanupAll();
}
process.exit(failures ? 1 : 0);
