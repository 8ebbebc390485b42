// watch: fan-out. N WatchTasks streams (10 000 asked) on one server, from 2 client processes
// over 8 connections each; submit M tasks; events/s delivered in total, and server RSS per
// watcher (VmRSS after opening the watchers minus before, after a full GC, / N).
// Same-run baseline: the raw grpc-js no-op server holding the same number of server streams and
// writing the same encoded event to each (the transport's fan-out ceiling and per-stream memory).
import { EventType, WatchTasksResponse } from "@supervisor/sdk";
import { submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { startNoop, startSupervisor, startWorker } from "../lib/procs.mjs";
import { nowMs, printTable, round, sleep, target, writeResult } from "../lib/stats.mjs";

export const description =
  "WatchTasks fan-out: 10 000 watchers, events/s and server RSS per watcher (vs raw grpc-js streams)";

const PROCESSES = 2;
const CHANNELS_PER_PROCESS = 8; // 625 streams per connection at 10 000 (the server allows 1000)
const SUBMIT_BATCH = 10;

async function counts(workers) {
  const replies = await Promise.all(
    workers.map((w) => {
      w.send({ cmd: "count" });
      return w.next("count", 10_000);
    }),
  );
  return {
    events: replies.reduce((a, r) => a + r.events, 0),
    lastEventAt: Math.max(...replies.map((r) => r.lastEventAt)),
    errors: replies.reduce((a, r) => a + r.errors, 0),
    firstError: replies.find((r) => r.firstError)?.firstError,
  };
}

async function pass(kind, { watchers, tasks, deliveryBudgetMs, openBudgetMs, payload }) {
  const server = kind === "supervisor" ? await startSupervisor() : await startNoop();
  const workers = [];
  try {
    let sample;
    if (kind === "supervisor") {
      // One task before the watchers open, so the server's lazy paths (statements, codecs) are warm in both passes.
      const client = taskClient(server.address);
      sample = (await unary(client, "submitTask", submitRequest(typicalSpec(0)))).task;
      client.close();
    }
    const rssBefore = await server.settledRss(1_000);
    const per = Math.ceil(watchers / PROCESSES);
    for (let p = 0; p < PROCESSES; p++) {
      workers.push(
        startWorker("watch-worker", {
          address: server.address,
          kind,
          watchers: Math.min(per, watchers - p * per),
          channels: CHANNELS_PER_PROCESS,
          openBudgetMs,
        }),
      );
    }
    const t0Open = nowMs();
    const opened = await Promise.all(workers.map((w) => w.next("opened", openBudgetMs + 60_000)));
    const openMs = nowMs() - t0Open;
    const ready = opened.reduce((a, o) => a + o.ready, 0);
    const openFailures = opened.reduce((a, o) => a + o.failed, 0);
    const openError = opened.find((o) => o.firstError)?.firstError;
    const rssAfter = await server.settledRss(1_000);

    const meter = server.cpu();
    const t0 = nowMs();
    if (kind === "supervisor") {
      const client = taskClient(server.address);
      for (let i = 0; i < tasks; i += SUBMIT_BATCH) {
        await unary(client, "batchSubmitTasks", {
          requests: Array.from({ length: Math.min(SUBMIT_BATCH, tasks - i) }, (_, j) =>
            submitRequest(typicalSpec(i + j)),
          ),
        });
      }
      client.close();
    } else {
      server.send({ cmd: "fanout", count: tasks, payloadBase64: payload.toString("base64") });
    }
    const submittedMs = nowMs() - t0;
    const expected = ready * tasks;
    let seen = { events: 0, lastEventAt: t0, errors: 0 };
    const deadline = t0 + deliveryBudgetMs;
    while (nowMs() < deadline) {
      seen = await counts(workers);
      if (seen.events >= expected) break;
      await sleep(100);
    }
    const cpu = meter();
    const elapsedMs = Math.max(1, seen.lastEventAt - t0);
    return {
      kind,
      watchersAsked: watchers,
      watchersOpen: ready,
      openFailures,
      openError,
      openMs: round(openMs, 0),
      tasks,
      expectedEvents: expected,
      deliveredEvents: seen.events,
      complete: seen.events >= expected,
      streamErrors: seen.errors,
      streamError: seen.firstError,
      submitMs: round(submittedMs, 1),
      deliveryMs: round(elapsedMs, 1),
      eventsPerSec: (seen.events / elapsedMs) * 1000,
      serverCpu: round(cpu.utilization, 2),
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssPerWatcherBytes: ready ? (rssAfter - rssBefore) / ready : NaN,
      sample,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
  }
}

export async function run(opts) {
  const watchers = opts.quick ? 1_000 : (opts.watchers ?? 10_000);
  const tasks = opts.quick ? 20 : 50;
  const budgets = {
    watchers,
    tasks,
    deliveryBudgetMs: opts.quick ? 20_000 : 90_000,
    openBudgetMs: opts.quick ? 20_000 : 90_000,
  };
  const sup = await pass("supervisor", budgets);
  const payload = Buffer.from(
    WatchTasksResponse.encode({
      type: EventType.EVENT_TYPE_ADDED,
      task: sup.sample,
      revision: sup.sample.revision + 1,
    }).finish(),
  );
  const raw = await pass("noop", { ...budgets, payload });
  delete sup.sample;
  delete raw.sample;
  const row = (r, label) => ({
    server: label,
    "watchers open": r.watchersOpen,
    "open s": round(r.openMs / 1000, 1),
    "events delivered": r.deliveredEvents,
    "of expected": r.expectedEvents,
    "delivery s": round(r.deliveryMs / 1000, 2),
    "events/s": round(r.eventsPerSec, 0),
    "server CPU": r.serverCpu,
    "RSS before MiB": round(r.rssBeforeBytes / 2 ** 20, 1),
    "RSS after MiB": round(r.rssAfterBytes / 2 ** 20, 1),
    "KB per watcher": round(r.rssPerWatcherBytes / 1024, 1),
  });
  printTable(
    `watch: ${watchers} watchers (${PROCESSES} client processes x ${CHANNELS_PER_PROCESS} connections), ${tasks} tasks submitted`,
    [row(sup, "supervisor WatchTasks"), row(raw, "raw grpc-js stream (baseline)")],
  );
  for (const r of [sup, raw]) {
    if (r.openError || r.streamError)
      console.log(`${r.kind}: first open error: ${r.openError ?? "-"}; first stream error: ${r.streamError ?? "-"}`);
  }
  const ratios = {
    eventsPerSecOverRaw: sup.eventsPerSec / raw.eventsPerSec,
    rssPerWatcherOverRaw: sup.rssPerWatcherBytes / raw.rssPerWatcherBytes,
  };
  printTable("ratios", [
    { ratio: "events/s: supervisor / raw stream", value: round(ratios.eventsPerSecOverRaw, 2) },
    { ratio: "RSS per stream: supervisor / raw stream", value: round(ratios.rssPerWatcherOverRaw, 2) },
  ]);
  const targets = [
    target(`watchers open (${watchers} asked)`, sup.watchersOpen, ">=", watchers),
    target("watch events delivered per second", sup.eventsPerSec, ">=", 100_000, " events/s"),
    target("server RSS per watcher", sup.rssPerWatcherBytes / 1024, "<=", 16, " KB"),
  ];
  printTable("targets", targets);
  return writeResult("watch", {
    settings: {
      watchers,
      tasks,
      processes: PROCESSES,
      connectionsPerProcess: CHANNELS_PER_PROCESS,
      submitBatch: SUBMIT_BATCH,
      rss: "VmRSS of the server child after a full GC, before vs after opening the watchers",
    },
    figures: { supervisor: sup, rawStreams: raw },
    ratios,
    targets,
  });
}
