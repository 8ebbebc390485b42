// submit: durable unary SubmitTask, 64 in flight, ~10 s per pass.
// Same run: (a) a raw grpc-js no-op unary server with the same client (transport ceiling),
//           (b) the supervisor with groupCommitMaxBatch=1 (one commit per submit).

import { SubmitTaskResponse } from "@supervisor/sdk";
import { closedLoop, noopClient, noopSubmit, submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { startNoop, startSupervisor } from "../lib/procs.mjs";
import { profiledPass } from "../lib/profile.mjs";
import { printTable, RESULTS_DIR, round, target, writeResult } from "../lib/stats.mjs";

export const description = "durable unary SubmitTask, 64 in flight (vs no-op gRPC ceiling and one-commit-per-write)";

const CONCURRENCY = 64;

/** One measured pass of unary submits against a running supervisor (after a warm-up). */
export async function supervisorSubmitPass(address, { durationMs, maxOps, warmupMs, concurrency = CONCURRENCY }) {
  const client = taskClient(address);
  try {
    const spec = typicalSpec(1);
    await closedLoop({
      concurrency,
      durationMs: warmupMs,
      maxOps: 20_000,
      op: () => unary(client, "submitTask", submitRequest(spec)),
    });
    return await closedLoop({
      concurrency,
      durationMs,
      maxOps,
      op: (i) => unary(client, "submitTask", submitRequest(typicalSpec(i))),
    });
  } finally {
    client.close();
  }
}

async function supervisorPass(label, settings, opts, execArgv = []) {
  const server = await startSupervisor(settings, { execArgv });
  try {
    const meter = server.cpu();
    // The meter includes the warm-up; the pass itself dominates.
    const result = await supervisorSubmitPass(server.address, opts);
    const cpu = meter();
    // A real response, to size the no-op server's answer like the supervisor's.
    const client = taskClient(server.address);
    const sample = await unary(client, "submitTask", submitRequest(typicalSpec(7)));
    client.close();
    return {
      label,
      ...result,
      serverCpu: round(cpu.utilization, 2),
      sampleResponse: Buffer.from(SubmitTaskResponse.encode(sample).finish()),
      server,
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export async function run(opts) {
  const durationMs = opts.durationMs ?? 10_000;
  const maxOps = opts.maxOps ?? 400_000;
  const warmupMs = opts.warmupMs ?? 1_500;
  const pass = { durationMs, maxOps, warmupMs };

  const grouped = await supervisorPass("supervisor (group commit, default)", {}, pass);
  await grouped.server.stop();
  const single = await supervisorPass("supervisor (groupCommitMaxBatch=1)", { groupCommitMaxBatch: 1 }, pass);
  await single.server.stop();

  const noop = await startNoop({ responseBase64: grouped.sampleResponse.toString("base64") });
  let ceiling;
  try {
    const client = noopClient(noop.address);
    const request = submitRequest(typicalSpec(1));
    await closedLoop({
      concurrency: CONCURRENCY,
      durationMs: warmupMs,
      maxOps: 20_000,
      op: () => noopSubmit(client, request),
    });
    const meter = noop.cpu();
    ceiling = await closedLoop({
      concurrency: CONCURRENCY,
      durationMs,
      maxOps,
      op: (i) => noopSubmit(client, submitRequest(typicalSpec(i))),
    });
    ceiling = { label: "raw grpc-js no-op unary (ceiling)", ...ceiling, serverCpu: round(meter().utilization, 2) };
    client.close();
  } finally {
    await noop.stop();
  }

  const profile = opts.profile
    ? await profiledPass(
        "submit",
        async (execArgv) => {
          const profiled = await supervisorPass("supervisor (default, --cpu-prof)", {}, pass, execArgv);
          await profiled.server.stop();
          return profiled;
        },
        { resultsDir: RESULTS_DIR, printTable },
      )
    : undefined;

  const row = (r) => ({
    pass: r.label,
    "tasks/s": round(r.itemsPerSec, 0),
    "p50 ms": r.latencyMs.p50,
    "p90 ms": r.latencyMs.p90,
    "p99 ms": r.latencyMs.p99,
    "max ms": r.latencyMs.max,
    completed: r.completed,
    errors: r.errors,
    "server CPU": r.serverCpu,
    "client CPU": r.clientCpu,
  });
  const passes = [grouped, single, ceiling];
  printTable(`submit: ${CONCURRENCY} in flight, ${durationMs / 1000} s per pass`, passes.map(row));
  const ofCeiling = grouped.itemsPerSec / ceiling.itemsPerSec;
  const vsSingle = grouped.itemsPerSec / single.itemsPerSec;
  const ratios = [
    { ratio: "supervisor / no-op ceiling", value: round(ofCeiling, 3) },
    { ratio: "group commit / one commit per submit", value: round(vsSingle, 2) },
  ];
  printTable("ratios", ratios);
  const targets = [
    target("SubmitTask throughput", grouped.itemsPerSec, ">=", 10_000, " tasks/s"),
    target("SubmitTask p99 latency", grouped.latencyMs.p99, "<=", 25, " ms"),
    target("share of the no-op ceiling", ofCeiling * 100, ">=", 75, " %"),
  ];
  printTable("targets", targets);
  const strip = ({ sampleResponse, server, ...rest }) => rest;
  return writeResult("submit", {
    settings: {
      concurrency: CONCURRENCY,
      durationMs,
      maxOps,
      warmupMs,
      spec: "subprocess /bin/echo with 2 args, 3 labels; request_id set",
      synchronous: "FULL",
      journal: "WAL",
    },
    figures: { supervisor: strip(grouped), groupCommitMaxBatch1: strip(single), noopCeiling: ceiling },
    ratios: { supervisorOverCeiling: ofCeiling, groupOverSingleCommit: vsSingle },
    targets,
    profile,
  });
}
