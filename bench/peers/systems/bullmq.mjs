// BullMQ on a fresh redis-server per scenario (appendfsync always, no RDB): Queue.add / addBulk with
// the default job options (completed jobs are kept, as Supervisor keeps its tasks), Worker consumers.
import { Queue, Worker } from "bullmq";
import { startRedis } from "../lib/redis.mjs";

export const id = "bullmq";
export const label = "BullMQ (Redis, always)";
export const short = "BullMQ";
export const latencyVariants = [{ key: "default", label: "push (blocking marker)", pollMs: 0 }];

const QUEUE = "peers";
const logError = (where) => (error) => process.stderr.write(`bullmq ${where}: ${error?.message ?? error}\n`);

export async function open() {
  const redis = await startRedis();
  const connection = { host: redis.host, port: redis.port };
  const queue = new Queue(QUEUE, { connection });
  queue.on("error", logError("queue"));
  await queue.waitUntilReady();
  return {
    settings: { redis: redis.reported },
    enqueueOne: async (data) => (await queue.add("noop", data)).id,
    enqueueBatch: async (items) => (await queue.addBulk(items.map((data) => ({ name: "noop", data })))).length,
    stored: async () => queue.count(),
    consumerArgs: connection,
    async unfinished() {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "paused");
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    isCompleted: async (jobId) => (await queue.getJobState(jobId)) === "completed",
    async idleWorker(onStart) {
      const worker = new Worker(QUEUE, async (job) => onStart(job.data), { connection, concurrency: 1 });
      worker.on("error", logError("worker"));
      await worker.waitUntilReady();
      return { stop: () => worker.close() };
    },
    async close() {
      await queue.close();
      await redis.stop();
    },
  };
}

export async function consume({ host, port, concurrency }, onCompleted) {
  const worker = new Worker(QUEUE, async () => onCompleted(), { connection: { host, port }, concurrency });
  worker.on("error", logError("worker"));
  await worker.waitUntilReady();
  return { stop: () => worker.close() };
}
