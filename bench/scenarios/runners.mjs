// runners: 1 000 idle runner connections, each its own TCP/HTTP2 connection (as separate runner
// processes would have) from 2 client processes, each a Connect stream that said hello and
// heartbeats. Server RSS per idle runner connection (VmRSS after a full GC, before vs after).
// Same-run baseline: the same 1 000 connections open but idle (no stream) — what a bare
// HTTP/2 connection costs the server — measured on the same server just before the hellos.
import { startSupervisor, startWorker } from "../lib/procs.mjs";
import { printTable, round, sleep, target, writeResult } from "../lib/stats.mjs";

export const description = "1 000 idle runner connections: server RSS per connection (vs bare HTTP/2 connections)";

const PROCESSES = 2;

export async function run(opts) {
  const connections = opts.quick ? 200 : (opts.connections ?? 1_000);
  const server = await startSupervisor();
  const workers = [];
  try {
    const rss0 = await server.settledRss(1_000);
    const per = Math.ceil(connections / PROCESSES);
    for (let p = 0; p < PROCESSES; p++)
      workers.push(
        startWorker("conn-worker", { address: server.address, connections: Math.min(per, connections - p * per) }),
      );
    await Promise.all(workers.map((w) => w.next("started", 30_000)));
    for (const w of workers) w.send({ cmd: "connect" });
    const connected = await Promise.all(workers.map((w) => w.next("connected", 60_000)));
    const open = connected.reduce((a, c) => a + c.ok, 0);
    const rss1 = await server.settledRss(2_000);
    for (const w of workers) w.send({ cmd: "hello" });
    const welcomed = await Promise.all(workers.map((w) => w.next("welcomed", 120_000)));
    const runners = welcomed.reduce((a, c) => a + c.ok, 0);
    const firstError = welcomed.find((w) => w.firstError)?.firstError;
    // Let a heartbeat round pass, so per-connection buffers are in their steady state.
    await sleep(opts.quick ? 1_000 : 6_000);
    const rss2 = await server.settledRss(1_000);
    const figures = {
      connectionsAsked: connections,
      connectionsOpen: open,
      runnersWelcomed: runners,
      firstError,
      rssIdleServerBytes: rss0,
      rssWithBareConnectionsBytes: rss1,
      rssWithRunnersBytes: rss2,
      bareConnectionBytes: (rss1 - rss0) / open,
      runnerStreamAddsBytes: (rss2 - rss1) / Math.max(1, runners),
      runnerConnectionBytes: (rss2 - rss0) / Math.max(1, runners),
    };
    const kb = (b) => round(b / 1024, 1);
    printTable(`runners: ${runners} idle runners, one connection each, ${PROCESSES} client processes`, [
      { state: "server idle", "RSS MiB": round(rss0 / 2 ** 20, 1), count: 0, "KB each": "" },
      {
        state: "+ bare HTTP/2 connections (baseline)",
        "RSS MiB": round(rss1 / 2 ** 20, 1),
        count: open,
        "KB each": kb(figures.bareConnectionBytes),
      },
      {
        state: "+ Connect stream, hello, heartbeats",
        "RSS MiB": round(rss2 / 2 ** 20, 1),
        count: runners,
        "KB each": kb(figures.runnerStreamAddsBytes),
      },
      {
        state: "= per idle runner connection",
        "RSS MiB": "",
        count: runners,
        "KB each": kb(figures.runnerConnectionBytes),
      },
    ]);
    if (firstError) console.log(`first error: ${firstError}`);
    const ratios = { runnerConnectionOverBareConnection: figures.runnerConnectionBytes / figures.bareConnectionBytes };
    printTable("ratios", [
      { ratio: "idle runner connection / bare connection", value: round(ratios.runnerConnectionOverBareConnection, 2) },
    ]);
    const targets = [
      target(`idle runner connections open (${connections} asked)`, runners, ">=", connections),
      target("server RSS per idle runner connection", figures.runnerConnectionBytes / 1024, "<=", 64, " KB"),
    ];
    printTable("targets", targets);
    return writeResult("runners", {
      settings: { connections, processes: PROCESSES, connection: "one grpc-js channel (TCP + HTTP/2) per runner" },
      figures,
      ratios,
      targets,
    });
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
  }
}
