// npm run bench [-- <scenario>... ] [--profile] [--quick] [--backend sqlite|postgres] [--servers N]
// Runs the scenarios (all by default), each with its baseline in the same run,
// prints tables and writes bench/results/<scenario>.json (<scenario>-postgres.json on PostgreSQL).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKENDS, backendTicks, resultName, stopBackend, useBackend } from "./lib/backend.mjs";
import { loadMeter } from "./lib/load.mjs";
import { killChildren } from "./lib/procs.mjs";
import { machine, printTable, RESULTS_DIR, writeResult } from "./lib/stats.mjs";

const SCENARIOS = [
  "submit",
  "sdk-submit",
  "batch",
  "e2e",
  "dispatch",
  "crowded",
  "fairness",
  "list",
  "watch",
  "runners",
  "storage",
  "http",
];

/** Run only when named (or, for cluster, with --servers): not part of the default run. */
const ON_REQUEST = ["cluster", "metrics"];

const args = process.argv.slice(2);
// `--backend postgres` and `--backend=postgres` both work.
let backend = "sqlite";
for (let i = args.length - 1; i >= 0; i--) {
  if (args[i] === "--backend") {
    backend = args[i + 1];
    args.splice(i, 2);
  } else if (args[i].startsWith("--backend=")) {
    backend = args[i].slice("--backend=".length);
    args.splice(i, 1);
  }
}
// `--servers N`: the cluster scenario with N servers on one PostgreSQL database (alone, unless others are named).
let servers;
for (let i = args.length - 1; i >= 0; i--) {
  if (args[i] === "--servers") {
    servers = Number(args[i + 1]);
    args.splice(i, 2);
  } else if (args[i].startsWith("--servers=")) {
    servers = Number(args[i].slice("--servers=".length));
    args.splice(i, 1);
  }
}
if (servers !== undefined && !(Number.isInteger(servers) && servers >= 1)) {
  console.error(`--servers takes a whole number of servers (1 or more), not "${servers}"`);
  process.exit(2);
}
if (!BACKENDS.includes(backend)) {
  console.error(`unknown backend "${backend}"; one of: ${BACKENDS.join(", ")}`);
  process.exit(2);
}
const flags = new Set(args.filter((a) => a.startsWith("--")));
const chosen = args.filter((a) => !a.startsWith("--"));
if (servers !== undefined && chosen.length === 0) chosen.push("cluster");
if (flags.has("--help") || flags.has("-h")) {
  console.log(`usage: npm run bench [-- <scenario>...] [--profile] [--quick] [--backend sqlite|postgres]
scenarios: ${SCENARIOS.join(", ")} (and, when named: ${ON_REQUEST.join(", ")})
  --backend  the supervisor's storage: sqlite (default, a fresh file per pass) or postgres (a throwaway
             PostgreSQL cluster for the run, a fresh database per pass; results in <scenario>-postgres.json)
  --profile  submit, sdk-submit, batch, e2e: one more pass with the server under --cpu-prof (sdk-submit: and one
             with the client profiled); top self-time functions
  --servers  the cluster scenario (postgres): N servers on one database (default 1)
  --quick    shorter passes and smaller sizes (a smoke test; figures are not comparable)
  --wait-quiet[=s]  before each scenario, wait (up to s seconds, default 300) until other processes are idle`);
  process.exit(0);
}
for (const name of chosen) {
  if (![...SCENARIOS, ...ON_REQUEST].includes(name)) {
    console.error(`unknown scenario "${name}"; one of: ${[...SCENARIOS, ...ON_REQUEST].join(", ")}`);
    process.exit(2);
  }
}
const quick = flags.has("--quick");
const waitFlag = args.find((a) => a.startsWith("--wait-quiet"));
const waitQuietSeconds = waitFlag ? Number(waitFlag.split("=")[1] ?? 300) : 0;

/** On a shared machine: waits (bounded) until other processes use less than 0.2 core over 3 s. */
async function waitQuiet(maxSeconds) {
  const deadline = Date.now() + maxSeconds * 1000;
  while (Date.now() < deadline) {
    const meter = loadMeter({ extraTicks: backendTicks });
    await new Promise((r) => setTimeout(r, 3_000));
    const load = meter();
    if (load.otherProcessesCores < 0.2) return;
    console.log(`  waiting for a quiet machine: other processes use ${load.otherProcessesCores} cores`);
  }
  console.log(`  the machine did not get quiet within ${maxSeconds} s; running anyway`);
}
const opts = {
  profile: flags.has("--profile"),
  servers,
  quick,
  ...(quick ? { durationMs: 2_000, warmupMs: 300 } : {}),
};

process.on("SIGINT", async () => {
  killChildren();
  await stopBackend().catch(() => {});
  process.exit(130);
});
await useBackend(backend);

const m = machine();
console.log(`machine: ${m.cores} cores, ${m.cpuModel}, ${m.totalMemoryGiB} GiB, node ${m.node}, ${m.date}`);
console.log(`backend: ${backend}`);
const summary = [];
const loads = [];
let failed = 0;
for (const name of chosen.length ? chosen : SCENARIOS) {
  const module = await import(`./scenarios/${name}.mjs`);
  console.log(`\n=== ${name}: ${module.description}`);
  if (module.backends && !module.backends.includes(backend)) {
    console.log(`does not apply to the ${backend} backend: ${module.notApplicable ?? "it measures SQLite itself"}`);
    summary.push({ scenario: name, target: "(does not apply)", goal: "", measured: `backend ${backend}`, met: "n/a" });
    continue;
  }
  if (waitQuietSeconds > 0) await waitQuiet(waitQuietSeconds);
  const t0 = Date.now();
  // PostgreSQL runs as a daemon, not as our child: its CPU is the bench's, not "other processes".
  const meter = loadMeter({ extraTicks: backendTicks });
  try {
    const result = await module.run(opts);
    for (const t of result.targets ?? []) summary.push({ scenario: name, ...t });
    const load = meter();
    loads.push({ scenario: name, ...load });
    // Attach the machine load to the scenario's result file.
    const path = join(RESULTS_DIR, `${resultName(result.resultName ?? name)}.json`);
    writeFileSync(
      path,
      `${JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), machineLoad: load }, null, 2)}\n`,
    );
    console.log(
      `(${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s; bench processes used ${load.benchCores} cores on average, other processes ${load.otherProcessesCores})`,
    );
    if (load.otherProcessesCores > 0.25)
      console.log(
        `WARNING: other processes used ${load.otherProcessesCores} of ${m.cores} cores during ${name}: its figures are understated`,
      );
  } catch (error) {
    failed++;
    console.error(`\n${name} FAILED: ${error?.stack ?? error}`);
    summary.push({
      scenario: name,
      target: "(scenario failed)",
      goal: "",
      measured: String(error?.message ?? error).slice(0, 80),
      met: "n/a",
    });
    killChildren();
  }
}
printTable("machine load per scenario (average cores busy)", loads);
printTable("summary: targets", summary);
if (!chosen.length) writeResult("summary", { targets: summary, machineLoad: loads, quick });
await stopBackend();
process.exit(failed ? 1 : 0);
