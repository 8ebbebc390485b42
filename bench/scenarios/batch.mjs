// batch: BatchSubmitTasks with 100 tasks per call, 4 calls in flight.
// Same run baseline: unary SubmitTask with 64 in flight (the submit scenario's load) on a fresh server.
import { closedLoop, submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { startSupervisor } from "../lib/procs.mjs";
import { profiledPass } from "../lib/profile.mjs";
import { printTable, RESULTS_DIR, round, target, writeResult } from "../lib/stats.mjs";
import { supervisorSubmitPass } from "./submit.mjs";

export const description = "BatchSubmitTasks, 100 tasks per call, 4 in flight (vs unary submits)";

const BATCH = 100;
const IN_FLIGHT = 4;

/** One measured pass of batches of BATCH, IN_FLIGHT in flight, on a fresh server (after a warm-up). */
async function batchPass({ durationMs, warmupMs, execArgv = [] }) {
  const server = await startSupervisor({}, { execArgv });
  try {
    const client = taskClient(server.address);
    const makeBatch = (base) => ({
      requests: Array.from({ length: BATCH }, (_, j) => submitRequest(typicalSpec(base + j))),
    });
    await closedLoop({
      concurrency: IN_FLIGHT,
      durationMs: warmupMs,
      maxOps: 1_000,
      op: (i) => unary(client, "batchSubmitTasks", makeBatch(i * BATCH)),
    });
    const meter = server.cpu();
    const result = await closedLoop({
      concurrency: IN_FLIGHT,
      durationMs,
      maxOps: 20_000,
      op: (i) => unary(client, "batchSubmitTasks", makeBatch(i * BATCH)),
      units: (response) => response.tasks.length,
    });
    result.serverCpu = round(meter().utilization, 2);
    client.close();
    return result;
  } finally {
    await server.stop();
  }
}

export async function run(opts) {
  const durationMs = opts.durationMs ?? 10_000;
  const warmupMs = opts.warmupMs ?? 1_500;

  const batch = await batchPass({ durationMs, warmupMs });
  const profile = opts.profile
    ? await profiledPass("batch", (execArgv) => batchPass({ durationMs, warmupMs, execArgv }), {
        resultsDir: RESULTS_DIR,
        printTable,
      })
    : undefined;

  let single;
  {
    const server = await startSupervisor();
    try {
      const meter = server.cpu();
      single = await supervisorSubmitPass(server.address, {
        durationMs: Math.min(durationMs, 5_000),
        maxOps: 200_000,
        warmupMs,
      });
      single.serverCpu = round(meter().utilization, 2);
    } finally {
      await server.stop();
    }
  }

  const rows = [
    {
      pass: `BatchSubmitTasks x${BATCH}, ${IN_FLIGHT} in flight`,
      "tasks/s": round(batch.itemsPerSec, 0),
      "calls/s": round(batch.opsPerSec, 0),
      "call p50 ms": batch.latencyMs.p50,
      "call p99 ms": batch.latencyMs.p99,
      tasks: batch.items,
      "server CPU": batch.serverCpu,
      "client CPU": batch.clientCpu,
    },
    {
      pass: "unary SubmitTask, 64 in flight (baseline)",
      "tasks/s": round(single.itemsPerSec, 0),
      "calls/s": round(single.opsPerSec, 0),
      "call p50 ms": single.latencyMs.p50,
      "call p99 ms": single.latencyMs.p99,
      tasks: single.items,
      "server CPU": single.serverCpu,
      "client CPU": single.clientCpu,
    },
  ];
  printTable("batch", rows);
  const ratio = batch.itemsPerSec / single.itemsPerSec;
  printTable("ratios", [{ ratio: "batch / unary tasks per second", value: round(ratio, 2) }]);
  const targets = [
    target("BatchSubmitTasks throughput", batch.itemsPerSec, ">=", 40_000, " tasks/s"),
    target("BatchSubmitTasks throughput (stretch)", batch.itemsPerSec, ">=", 80_000, " tasks/s"),
  ];
  printTable("targets", targets);
  return writeResult("batch", {
    settings: {
      batchSize: BATCH,
      inFlight: IN_FLIGHT,
      durationMs,
      warmupMs,
      spec: "subprocess /bin/echo with 2 args, 3 labels; request_id per task",
    },
    figures: { batch, unaryBaseline: single },
    ratios: { batchOverUnary: ratio },
    targets,
    profile,
  });
}
