// The four scenarios, the same for every system. Each takes a store (a system's open() result: a fresh,
// empty store with the system's own enqueue calls) and returns its figures. Every wait is bounded.
import { closedLoop } from "../../lib/clients.mjs";
import { nowMs, round, sleep, summarize } from "../../lib/stats.mjs";
import { startConsumers } from "./consumers.mjs";

export const SCENARIOS = ["single", "batch", "e2e", "latency"];

/** closedLoop counts failures instead of throwing below 50: a benchmark figure needs all of them to succeed. */
function expectAll(result, jobs, what) {
  if (result.errors > 0) throw new Error(`${what}: ${result.errors} calls failed; first: ${result.firstError}`);
  if (result.items !== jobs) throw new Error(`${what}: ${result.items} of ${jobs} jobs enqueued in time`);
  return result;
}

const batchOf = (start, size, jobs) =>
  Array.from({ length: Math.min(size, jobs - start) }, (_, k) => ({ i: start + k }));

/** Where the system can count its stored jobs, they must be all of them (an enqueue call may return no ids). */
async function expectStored(store, jobs) {
  const stored = store.stored ? await store.stored() : jobs;
  if (stored !== jobs) throw new Error(`the store holds ${stored} jobs, not the ${jobs} enqueued`);
}

/** 1. A closed loop of `inFlight` callers, each enqueuing one job per call. */
export async function singleEnqueue(store, { jobs, warmupJobs, inFlight, timeoutMs }) {
  const loop = (count, what) =>
    closedLoop({
      concurrency: inFlight,
      durationMs: timeoutMs,
      maxOps: count,
      op: (i) => store.enqueueOne({ i }),
      units: (jobId) => (jobId ? 1 : 0),
    }).then((result) => expectAll(result, count, what));
  await loop(warmupJobs, "single enqueue warm-up");
  const r = await loop(jobs, "single enqueue");
  await expectStored(store, warmupJobs + jobs);
  return { jobsPerSec: r.itemsPerSec, elapsedMs: round(r.elapsedMs, 1), callMs: r.latencyMs, clientCpu: r.clientCpu };
}

/** 2. `batchInFlight` callers, each enqueuing `batch` jobs per call. */
export async function batchEnqueue(store, { jobs, warmupJobs, batch, batchInFlight, timeoutMs }) {
  const options = { batch, batchInFlight, timeoutMs };
  expectAll(await enqueueInBatches(store, { jobs: warmupJobs, ...options }), warmupJobs, "batch enqueue warm-up");
  const r = expectAll(await enqueueInBatches(store, { jobs, ...options }), jobs, "batch enqueue");
  await expectStored(store, warmupJobs + jobs);
  return { jobsPerSec: r.itemsPerSec, elapsedMs: round(r.elapsedMs, 1), callMs: r.latencyMs, clientCpu: r.clientCpu };
}

function enqueueInBatches(store, { jobs, batch, batchInFlight, timeoutMs }) {
  return closedLoop({
    concurrency: batchInFlight,
    durationMs: timeoutMs,
    maxOps: Math.ceil(jobs / batch),
    op: (k) => store.enqueueBatch(batchOf(k * batch, batch, jobs)),
    units: (created) => created,
  });
}

/** Waits (every 2 ms, until `deadline`) for the store to hold no unfinished job. */
async function allCompleted(store, deadline, what) {
  let unfinished = await store.unfinished();
  while (unfinished > 0 && nowMs() < deadline) {
    await sleep(2);
    unfinished = await store.unfinished();
  }
  if (unfinished > 0) throw new Error(`${what}: ${unfinished} jobs still unfinished at the time limit`);
  return nowMs();
}

/**
 * 3. `workers` consumer processes of `concurrency` each, idle and ready; then `jobs` enqueued in batches;
 * from the first enqueue call to the store saying every job is completed. The consumers count what their
 * handlers returned (cheap: a progress message per 10 ms); once they report all of it, the store is asked
 * (every 2 ms) until it has no unfinished job, since a handler's return is not yet a stored completion.
 * A warm-up of `warmupJobs` goes through the same way first, not counted.
 */
export async function endToEnd(store, options, variant = {}) {
  const { jobs, warmupJobs, batch, batchInFlight, workers, concurrency, timeoutMs } = options;
  const consumers = startConsumers(store.system, { ...store.consumerArgs, concurrency, ...variant }, workers);
  try {
    await consumers.ready();
    const warm = { batch, batchInFlight, timeoutMs };
    expectAll(await enqueueInBatches(store, { jobs: warmupJobs, ...warm }), warmupJobs, "end-to-end warm-up");
    await consumers.handled(warmupJobs, timeoutMs);
    await allCompleted(store, nowMs() + timeoutMs, "end-to-end warm-up");
    const t0 = nowMs();
    const deadline = t0 + timeoutMs;
    const handled = consumers.handled(warmupJobs + jobs, timeoutMs);
    handled.catch(() => {});
    const enqueue = expectAll(
      await enqueueInBatches(store, { jobs, batch, batchInFlight, timeoutMs }),
      jobs,
      "end-to-end enqueue",
    );
    const enqueuedAt = nowMs();
    const handledAt = await handled;
    const completedAt = await allCompleted(store, deadline, "end to end");
    const elapsedMs = completedAt - t0;
    return {
      jobsPerSec: (jobs / elapsedMs) * 1000,
      elapsedMs: round(elapsedMs, 1),
      enqueuePhaseMs: round(enqueuedAt - t0, 1),
      lastHandlerMs: round(handledAt - t0, 1),
      storeConfirmedMs: round(completedAt - t0, 1),
      enqueueJobsPerSec: round(enqueue.itemsPerSec, 0),
      handlersCounted: consumers.finished() - warmupJobs,
    };
  } finally {
    await consumers.stop();
  }
}

/**
 * 4. One idle worker (capacity 1) in this process, so enqueue and handler share one monotonic clock
 * (process.hrtime). Sequential samples of enqueue call start → handler start; after each, the job's
 * completion is awaited in the store and the system left idle for 1–5 ms — plus, for a polling system,
 * a random part of its polling interval, so enqueues land at random phases of the poll cycle (back to
 * back, each would land just after a poll and read as the whole interval). Bounded by `budgetMs`.
 */
export async function pickupLatency(store, { samples, budgetMs }, variant) {
  const warmup = variant.pollMs > 0 ? 2 : 10;
  let pending;
  const worker = await store.idleWorker((data) => {
    const at = nowMs();
    if (pending && data?.seq === pending.seq) pending.resolve(at);
  }, variant);
  const latencies = [];
  try {
    const deadline = nowMs() + budgetMs;
    const waitMs = 10_000 + 2 * variant.pollMs;
    for (let seq = 0; seq < samples + warmup && nowMs() < deadline; seq++) {
      await sleep(1 + Math.random() * 4 + Math.random() * variant.pollMs);
      let timer;
      const started = new Promise((resolve, reject) => {
        pending = { seq, resolve };
        timer = setTimeout(() => reject(new Error(`no handler start within ${waitMs} ms`)), waitMs);
      });
      const t0 = nowMs();
      const jobId = await store.enqueueOne({ seq });
      const startedAt = await started.finally(() => clearTimeout(timer));
      const until = nowMs() + waitMs;
      while (!(await store.isCompleted(jobId))) {
        if (nowMs() > until) throw new Error(`job ${jobId} not completed within ${waitMs} ms`);
        await sleep(1);
      }
      if (seq >= warmup) latencies.push(startedAt - t0);
    }
  } finally {
    await worker.stop();
  }
  if (latencies.length === 0) throw new Error(`no latency sample within ${budgetMs} ms`);
  return { ...summarize(latencies), warmup, budgetMs, samples: latencies };
}
