// graphile-worker 0.17 (the last release that runs on Node 20) on the shared PostgreSQL cluster, a
// fresh database per scenario. WorkerUtils.addJob / addJobs (its production API over a pool; quickAddJob
// opens a pool per call), run() consumers. New jobs reach an idle worker by LISTEN/NOTIFY.
//
// Defaults everywhere, except the pool of an end-to-end consumer: the docs ask for "10 or
// concurrentJobs + 2, whichever is larger", so 18 for 16 jobs at once. The end-to-end scenario also
// runs a second pass with the batching options of graphile-worker's performance guide (a local queue
// of concurrency + 1 and completeJobBatchDelay 250 ms): faster, but completions are written up to
// 250 ms late and fetched jobs stay locked meanwhile — reported beside the default, not instead of it.
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import { freshDatabase } from "../lib/databases.mjs";

export const id = "graphile-worker";
export const label = "graphile-worker (PG)";
export const short = "graphile-worker";
export const latencyVariants = [{ key: "default", label: "push (LISTEN/NOTIFY)", pollMs: 0 }];
export const e2eVariants = [
  { key: "default", label: "defaults" },
  { key: "batched", label: "localQueue + completeJobBatchDelay 250 ms", batched: true },
];

// Its default logger writes a line per completed job; keep errors, drop the rest.
const logger = new Logger(() => (level, message) => {
  if (level === "error") process.stderr.write(`graphile-worker: ${message}\n`);
});

export async function open({ postgres }) {
  const db = await freshDatabase(postgres, "graphile");
  const utils = await makeWorkerUtils({ connectionString: db.url, logger });
  await utils.migrate();
  return {
    settings: { graphileWorker: "defaults (pool 10 for enqueuing, maxAttempts 25)" },
    enqueueOne: async (data) => (await utils.addJob("noop", data)).id,
    enqueueBatch: async (items) =>
      (await utils.addJobs(items.map((payload) => ({ identifier: "noop", payload })))).length,
    stored: async () => db.scalar("SELECT count(*)::int FROM graphile_worker._private_jobs"),
    consumerArgs: { url: db.url },
    // A completed job is deleted.
    unfinished: async () => db.scalar("SELECT count(*)::int FROM graphile_worker._private_jobs"),
    isCompleted: async (jobId) =>
      (await db.scalar("SELECT count(*)::int FROM graphile_worker._private_jobs WHERE id = $1", [jobId])) === 0,
    async idleWorker(onStart) {
      const runner = await run({
        connectionString: db.url,
        concurrency: 1,
        noHandleSignals: true,
        logger,
        taskList: { noop: async (payload) => onStart(payload) },
      });
      return { stop: () => runner.stop() };
    },
    async close() {
      await utils.release();
      await db.drop();
    },
  };
}

export async function consume({ url, concurrency, batched }, onCompleted) {
  const runner = await run({
    connectionString: url,
    concurrency,
    maxPoolSize: Math.max(10, concurrency + 2),
    noHandleSignals: true,
    logger,
    taskList: { noop: async () => onCompleted() },
    ...(batched ? { preset: { worker: { localQueue: { size: concurrency + 1 }, completeJobBatchDelay: 250 } } } : {}),
  });
  return { stop: () => runner.stop() };
}
