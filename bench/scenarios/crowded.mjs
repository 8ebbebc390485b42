// crowded: submit latency on a server crowded with runners and work no runner can take.
// 900 idle runners (2 client processes) and 8 000 pending tasks whose selector matches none of
// them. Every submit triggers a dispatch pass; before the dispatch index, each pass walked every
// pending task against every runner (runners × pending on the event loop: 4× slower submits).
// Same-run baseline: the same server and runners with no unroutable backlog.
import { subprocess } from "@supervisor/sdk";
import { submitRequest, taskClient, unary } from "../lib/clients.mjs";
import { startSupervisor, startWorker } from "../lib/procs.mjs";
import { nowMs, printTable, round, summarize, target, writeResult } from "../lib/stats.mjs";

export const description =
  "submit latency with 900 runners and 8 000 unroutable pending tasks (vs the same server without the backlog)";

const PROCESSES = 2;
const unroutable = (i) =>
  subprocess("/bin/true", [], {
    labels: { crowd: String(i % 10) },
    runnerSelector: { matchLabels: { pool: "nowhere" }, matchExpressions: [] },
  });

async function sequentialSubmits(client, count) {
  const samples = [];
  for (let i = 0; i < count; i++) {
    const t = nowMs();
    await unary(client, "submitTask", submitRequest(unroutable(i)));
    samples.push(nowMs() - t);
  }
  return summarize(samples);
}

export async function run(opts) {
  const runners = opts.quick ? 100 : 900;
  const backlog = opts.quick ? 1_000 : 8_000;
  const samples = opts.quick ? 100 : 400;
  const server = await startSupervisor();
  const workers = [];
  try {
    const per = Math.ceil(runners / PROCESSES);
    for (let p = 0; p < PROCESSES; p++) {
      workers.push(
        startWorker("conn-worker", {
          address: server.address,
          connections: Math.min(per, runners - p * per),
          prefix: `crowd${p}`,
        }),
      );
    }
    await Promise.all(workers.map((w) => w.next("started", 30_000)));
    for (const w of workers) w.send({ cmd: "connect" });
    await Promise.all(workers.map((w) => w.next("connected", 60_000)));
    for (const w of workers) w.send({ cmd: "hello" });
    const welcomed = (await Promise.all(workers.map((w) => w.next("welcomed", 120_000)))).reduce((a, c) => a + c.ok, 0);
    const client = taskClient(server.address);

    await sequentialSubmits(client, 50); // warm-up
    const baseline = await sequentialSubmits(client, samples);
    for (let i = 0; i < backlog; i += 500) {
      const requests = Array.from({ length: Math.min(500, backlog - i) }, (_, j) => submitRequest(unroutable(i + j)));
      await unary(client, "batchSubmitTasks", { requests });
    }
    const crowded = await sequentialSubmits(client, samples);
    client.close();

    const figures = { runnersWelcomed: welcomed, backlog, baselineMs: baseline, crowdedMs: crowded };
    printTable(`crowded: ${welcomed} idle runners; sequential SubmitTask of an unroutable task`, [
      { state: "no backlog (baseline)", p50: round(baseline.p50), p99: round(baseline.p99), n: baseline.n },
      { state: `+ ${backlog} unroutable pending`, p50: round(crowded.p50), p99: round(crowded.p99), n: crowded.n },
    ]);
    const ratios = {
      p50CrowdedOverBaseline: crowded.p50 / baseline.p50,
      p99CrowdedOverBaseline: crowded.p99 / baseline.p99,
    };
    printTable("ratios", [
      { ratio: "p50 crowded / baseline", value: round(ratios.p50CrowdedOverBaseline, 2) },
      { ratio: "p99 crowded / baseline", value: round(ratios.p99CrowdedOverBaseline, 2) },
    ]);
    const targets = [
      target(`runners welcomed (${runners} asked)`, welcomed, ">=", runners),
      target("submit p50 with the backlog / without", ratios.p50CrowdedOverBaseline, "<=", 1.5, "×"),
    ];
    printTable("targets", targets);
    return writeResult("crowded", { figures, ratios, targets });
  } finally {
    for (const w of workers) w.send({ cmd: "stop" });
    await server.stop();
  }
}
