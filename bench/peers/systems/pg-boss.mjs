// pg-boss 10 (the last major that runs on Node 20) on the shared PostgreSQL cluster, a fresh database
// per scenario. send() / insert() with the default options; work() consumers.
//
// A pg-boss 10 worker fetches `batchSize` jobs, runs the handler, then waits out the rest of its
// polling interval (default 2 s, minimum 0.5 s) even when more jobs are waiting: 4 processes × 16 would
// drain 32 jobs/s. Its documented way past that is notifyWorker(id) ("bypass the polling interval for
// this iteration"): the end-to-end consumer calls it after a full batch, as v9's teamRefill did, so a
// backlog is drained back to back and an idle worker still polls at the default interval.
import PgBoss from "pg-boss";
import { freshDatabase } from "../lib/databases.mjs";

export const id = "pg-boss";
export const label = "pg-boss (PG)";
export const short = "pg-boss";
export const latencyVariants = [
  { key: "default", label: "polling, default interval (2 s)", pollMs: 2_000 },
  { key: "minimum", label: "polling, minimum interval (0.5 s)", pollMs: 500, pollingIntervalSeconds: 0.5 },
];

const QUEUE = "peers";
const logError = (error) => process.stderr.write(`pg-boss: ${error?.message ?? error}\n`);

async function startBoss(url) {
  const boss = new PgBoss({ connectionString: url });
  boss.on("error", logError);
  await boss.start();
  return boss;
}

export async function open({ postgres }) {
  const db = await freshDatabase(postgres, "pgboss");
  const boss = await startBoss(db.url);
  await boss.createQueue(QUEUE);
  return {
    settings: { pgBoss: "defaults (pool max 10, retryLimit 2, standard queue policy)" },
    async enqueueOne(data) {
      const jobId = await boss.send(QUEUE, data);
      if (!jobId) throw new Error("pg-boss send() created no job");
      return jobId;
    },
    // insert() is one INSERT … SELECT (all or nothing) and, in v10, returns nothing: stored() checks the count.
    async enqueueBatch(items) {
      await boss.insert(items.map((data) => ({ name: QUEUE, data })));
      return items.length;
    },
    stored: async () => db.scalar("SELECT count(*)::int FROM pgboss.job WHERE name = $1", [QUEUE]),
    consumerArgs: { url: db.url },
    unfinished: async () =>
      db.scalar("SELECT count(*)::int FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active')", [
        QUEUE,
      ]),
    isCompleted: async (jobId) => (await boss.getJobById(QUEUE, jobId))?.state === "completed",
    async idleWorker(onStart, variant) {
      const options = variant.pollingIntervalSeconds ? { pollingIntervalSeconds: variant.pollingIntervalSeconds } : {};
      const workerId = await boss.work(QUEUE, options, async ([job]) => onStart(job.data));
      return { stop: () => boss.offWork({ id: workerId }) };
    },
    async close() {
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      await db.drop();
    },
  };
}

/**
 * One work() worker fetching `concurrency` jobs at a time, calling notifyWorker after a full batch to skip
 * the polling pause. (16 work() workers of 1 job each, each notifying itself, drained about 150 jobs/s
 * here: every one-job fetch is a query of its own, and on 2 cores PostgreSQL is CPU-bound.)
 */
export async function consume({ url, concurrency }, onCompleted) {
  const boss = await startBoss(url);
  let workerId;
  workerId = await boss.work(QUEUE, { batchSize: concurrency }, async (jobs) => {
    await Promise.all(jobs.map(async () => onCompleted()));
    if (jobs.length === concurrency && workerId) boss.notifyWorker(workerId);
  });
  return { stop: () => boss.stop({ graceful: true, wait: true, timeout: 10_000 }) };
}
