// sdk-submit: 64 concurrent SDK client.submit() calls (SupervisorClient, typical spec), ~10 s per pass,
// with the SDK's auto-batching on (the default) and off. The acceptance is measured this way.
// Same run: the same client against the raw grpc-js no-op server answering the real TaskService methods
// (bench/noop-serve.mjs: one stored task per request, nothing decoded) — what the SDK's client costs alone.

import { SupervisorClient, Task } from "@supervisor/sdk";
import { closedLoop, typicalSpec } from "../lib/clients.mjs";
import { startNoop, startSupervisor } from "../lib/procs.mjs";
import { profiledPass, profileThisProcess } from "../lib/profile.mjs";
import { printTable, RESULTS_DIR, round, target, writeResult } from "../lib/stats.mjs";

export const description = "64 concurrent SDK client.submit(), auto-batching on and off (vs the SDK on a no-op server)";

const CONCURRENCY = 64;
const GOAL_TASKS_PER_SEC = 30_000;

/**
 * Counts the calls a SupervisorClient makes, by method, whichever SDK build it is: through the generated
 * methods (a unary submit) or straight through makeUnaryRequest (the batcher).
 */
function countCalls(client) {
  const counts = {};
  const count = (name) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  const { tasks } = client;
  const makeUnaryRequest = tasks.makeUnaryRequest.bind(tasks);
  tasks.makeUnaryRequest = (path, ...rest) => {
    count(path.slice(path.lastIndexOf("/") + 1));
    return makeUnaryRequest(path, ...rest);
  };
  for (const [method, name] of [
    ["submitTask", "SubmitTask"],
    ["batchSubmitTasks", "BatchSubmitTasks"],
  ]) {
    const generated = tasks[method].bind(tasks);
    tasks[method] = (...args) => {
      count(name);
      return generated(...args);
    };
  }
  return counts;
}

/** A warm-up, then one measured closed loop of `client.submit(spec)` with 64 callers. */
async function submitLoop(address, batching, { durationMs, warmupMs, maxOps }, meterServer) {
  const client = new SupervisorClient({ address, batching });
  try {
    const op = (i) => client.submit(typicalSpec(i));
    await closedLoop({ concurrency: CONCURRENCY, durationMs: warmupMs, maxOps: 20_000, op });
    const counts = countCalls(client);
    const meter = meterServer();
    const result = await closedLoop({ concurrency: CONCURRENCY, durationMs, maxOps, op });
    const server = meter();
    const perSubmitUs = (cores) => round((cores * result.elapsedMs * 1000) / result.completed, 1);
    return {
      ...result,
      callsPerSec: Object.fromEntries(
        Object.entries(counts).map(([method, n]) => [method, round((n / result.elapsedMs) * 1000, 0)]),
      ),
      submitsPerCall: round(result.completed / Object.values(counts).reduce((a, b) => a + b, 0), 1),
      clientUsPerSubmit: perSubmitUs(result.clientCpu),
      serverCpu: round(server.utilization, 2),
      serverUsPerSubmit: perSubmitUs(server.utilization),
    };
  } finally {
    client.close();
  }
}

async function supervisorPass(label, batching, opts, execArgv = []) {
  const server = await startSupervisor({}, { execArgv });
  try {
    return { label, ...(await submitLoop(server.address, batching, opts, () => server.cpu())) };
  } finally {
    await server.stop();
  }
}

/** A task as the supervisor stores it, for the no-op server to answer with. */
async function sampleTask() {
  const server = await startSupervisor();
  const client = new SupervisorClient({ address: server.address, batching: false });
  try {
    return Buffer.from(Task.encode(await client.submit(typicalSpec(7))).finish());
  } finally {
    client.close();
    await server.stop();
  }
}

async function noopPass(label, batching, opts, task) {
  const noop = await startNoop({ taskBase64: task.toString("base64") });
  try {
    return { label, ...(await submitLoop(noop.address, batching, opts, () => noop.cpu())) };
  } finally {
    await noop.stop();
  }
}

export async function run(opts) {
  const durationMs = opts.durationMs ?? 10_000;
  const warmupMs = opts.warmupMs ?? 1_500;
  const pass = { durationMs, warmupMs, maxOps: 2_000_000 };

  const batched = await supervisorPass("supervisor, batching on (default)", true, pass);
  const unbatched = await supervisorPass("supervisor, batching off", false, pass);
  const task = await sampleTask();
  const batchedCeiling = await noopPass("no-op server, batching on (SDK alone)", true, pass, task);
  const unbatchedCeiling = await noopPass("no-op server, batching off (SDK alone)", false, pass, task);

  let serverProfile;
  let clientProfile;
  if (opts.profile) {
    serverProfile = await profiledPass(
      "sdk-submit",
      (execArgv) => supervisorPass("supervisor, batching on, server --cpu-prof", true, pass, execArgv),
      { resultsDir: RESULTS_DIR, printTable },
    );
    clientProfile = await profileThisProcess(
      "sdk-submit",
      () => supervisorPass("supervisor, batching on, client profiled", true, pass),
      { resultsDir: RESULTS_DIR, printTable },
    );
  }

  const passes = [batched, unbatched, batchedCeiling, unbatchedCeiling];
  const row = (r) => ({
    pass: r.label,
    "tasks/s": round(r.itemsPerSec, 0),
    "p50 ms": r.latencyMs.p50,
    "p99 ms": r.latencyMs.p99,
    "submits/call": r.submitsPerCall,
    "client CPU": r.clientCpu,
    "client µs/submit": r.clientUsPerSubmit,
    "server CPU": r.serverCpu,
    "server µs/submit": r.serverUsPerSubmit,
    errors: r.errors,
  });
  printTable(`sdk-submit: ${CONCURRENCY} concurrent client.submit(), ${durationMs / 1000} s per pass`, passes.map(row));
  const ratios = [
    { ratio: "batching on / off", value: round(batched.itemsPerSec / unbatched.itemsPerSec, 2) },
    {
      ratio: "batching on / SDK alone (no-op server)",
      value: round(batched.itemsPerSec / batchedCeiling.itemsPerSec, 3),
    },
  ];
  printTable("ratios", ratios);
  const targets = [target("64 concurrent SDK submits", batched.itemsPerSec, ">=", GOAL_TASKS_PER_SEC, " tasks/s")];
  printTable("targets", targets);
  return writeResult("sdk-submit", {
    settings: {
      concurrency: CONCURRENCY,
      durationMs,
      warmupMs,
      spec: "subprocess /bin/echo with 2 args, 3 labels (typicalSpec); request id generated by the SDK",
      synchronous: "FULL",
      journal: "WAL",
    },
    figures: { batched, unbatched, batchedCeiling, unbatchedCeiling },
    ratios: Object.fromEntries(ratios.map(({ ratio, value }) => [ratio, value])),
    targets,
    profile: serverProfile,
    clientProfile,
  });
}
