// cluster: N supervisors on one PostgreSQL database (`--servers N`, default 1): aggregate submit, e2e,
// dispatch latency for a runner on the leader and on another server, failover (leader SIGKILL → first
// new assign). On this 2-core machine the servers share the CPU with PostgreSQL and the bench.
import { embedded, Runner } from "@supervisor/sdk";
import { freshDatabase } from "../lib/backend.mjs";
import { closedLoop, noopSpec, submitRequest, taskClient, typicalSpec, unary } from "../lib/clients.mjs";
import { startSupervisor, startWorker } from "../lib/procs.mjs";
import { nowMs, printTable, round, sleep, summarize, target, writeResult } from "../lib/stats.mjs";
import { watchSucceeded } from "../lib/watch.mjs";

export const description = "N servers on one PostgreSQL: aggregate submit, e2e, dispatch latency, failover";
export const backends = ["postgres"];
export const notApplicable = "several servers share a PostgreSQL database only";

/** A server's log says when it takes the lead (the elector's line). */
const leads = (server) => server.stderr.some((line) => line.includes("this server leads"));

async function waitFor(what, condition, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** N servers on one fresh database; the first one up leads. */
async function startServers(n) {
  const database = await freshDatabase();
  const servers = [];
  try {
    servers.push(await startSupervisor({ db: database.url }));
    await waitFor("the first server to lead", () => leads(servers[0]));
    for (let i = 1; i < n; i++) servers.push(await startSupervisor({ db: database.url }));
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop({ remove: false }).catch(() => {})));
    await database.drop();
    throw error;
  }
  return {
    servers,
    clients: servers.map((s) => taskClient(s.address)),
    async stop() {
      await Promise.all(servers.map((s) => s.stop({ remove: false }).catch(() => {})));
      await database.drop();
    },
  };
}

/** Unary SubmitTask of the typical spec, 64 in flight spread over the servers. */
async function aggregateSubmit(n, durationMs) {
  const cluster = await startServers(n);
  try {
    const loop = await closedLoop({
      concurrency: 64,
      durationMs,
      maxOps: Number.POSITIVE_INFINITY,
      op: (i) => unary(cluster.clients[i % n], "submitTask", submitRequest(typicalSpec(i))),
    });
    return { tasksPerSec: loop.itemsPerSec, p99Ms: loop.latencyMs.p99, errors: loop.errors };
  } finally {
    await cluster.stop();
  }
}

/** submit → SUCCEEDED, no-op handler, 4 runners (2 processes) spread over the servers, batches spread too. */
async function e2e(n, tasks, timeoutMs) {
  const cluster = await startServers(n);
  const workers = [0, 1].map((p) =>
    startWorker("runner-worker", {
      address: cluster.servers[p % n].address,
      runners: [0, 1].map((r) => ({ name: `r${p}${r}`, capacity: 64 })),
    }),
  );
  try {
    await Promise.all(workers.map((w) => w.next("ready", 30_000)));
    const watcher = cluster.clients[n - 1];
    const { revision } = await unary(watcher, "listTasks", { pageSize: 1, pageToken: "", filter: undefined });
    let succeeded = 0;
    let lastAt = 0;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const watch = watchSucceeded(watcher, {
      sinceRevision: revision,
      onSucceeded: (_task, at) => {
        lastAt = at;
        if (++succeeded >= tasks) done();
      },
    });
    await watch.live;
    const t0 = nowMs();
    await closedLoop({
      concurrency: 4,
      durationMs: timeoutMs,
      maxOps: Math.ceil(tasks / 200),
      op: (i) =>
        unary(cluster.clients[i % n], "batchSubmitTasks", {
          requests: Array.from({ length: Math.min(200, tasks - i * 200) }, () => submitRequest(noopSpec())),
        }),
      units: (r) => r.tasks.length,
    });
    await Promise.race([finished, sleep(Math.max(1, timeoutMs - (nowMs() - t0)))]);
    watch.cancel();
    return { tasksPerSec: (succeeded / ((succeeded ? lastAt : nowMs()) - t0)) * 1000, succeeded };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await cluster.stop();
  }
}

/** An in-process runner with a label, so a task can be sent to it; records when each run began. */
async function labelledRunner(address, name) {
  const began = new Map();
  const runner = new Runner({
    address,
    name,
    capacity: 4,
    labels: { at: name },
    kinds: ["embedded:mark"],
    log: () => {},
  }).handle("mark", (payload) => {
    began.set(payload.key, nowMs());
  });
  await runner.start();
  return { runner, began };
}

/** Submit → the handler runs, one task at a time, for a runner on the leader and (N > 1) one elsewhere. */
async function dispatchLatency(n, samples) {
  const cluster = await startServers(n);
  const where = n > 1 ? { leader: 0, elsewhere: 1 } : { leader: 0 };
  const runners = {};
  try {
    for (const [name, index] of Object.entries(where)) {
      runners[name] = await labelledRunner(cluster.servers[index].address, name);
    }
    const result = {};
    for (const name of Object.keys(where)) {
      const latencies = [];
      for (let i = 0; i < samples; i++) {
        const key = `${name}-${i}`;
        const client = cluster.clients[i % n];
        const t0 = nowMs();
        await unary(client, "submitTask", submitRequest(embedded("mark", { key }, { runnerSelector: `at=${name}` })));
        await waitFor(`task ${key} to run`, () => runners[name].began.has(key), 10_000);
        latencies.push(runners[name].began.get(key) - t0);
      }
      result[name] = summarize(latencies);
    }
    return result;
  } finally {
    await Promise.all(Object.values(runners).map(({ runner }) => runner.stop().catch(() => {})));
    await cluster.stop();
  }
}

/** SIGKILL of the leader → a task submitted to a surviving server runs on a runner of a surviving server. */
async function failover(n) {
  const cluster = await startServers(n);
  let marker;
  try {
    marker = await labelledRunner(cluster.servers[1].address, "survivor");
    const spec = (key) => embedded("mark", { key }, { runnerSelector: "at=survivor" });
    await unary(cluster.clients[1], "submitTask", submitRequest(spec("before")));
    await waitFor("the first task to run", () => marker.began.has("before"));
    const killedAt = nowMs();
    cluster.servers[0].child.kill("SIGKILL");
    await unary(cluster.clients[1], "submitTask", submitRequest(spec("after")));
    await waitFor("a task to run after the leader was killed", () => marker.began.has("after"), 60_000);
    const newLeader = cluster.servers.slice(1).findIndex(leads) + 1;
    return { leaderKillToFirstAssignMs: round(marker.began.get("after") - killedAt, 1), newLeader };
  } finally {
    await marker?.runner.stop().catch(() => {});
    await cluster.stop();
  }
}

export async function run(opts) {
  const n = opts.servers ?? 1;
  const durationMs = opts.durationMs ?? 5_000;
  const submit = await aggregateSubmit(n, durationMs);
  const end = await e2e(n, opts.quick ? 2_000 : 10_000, opts.quick ? 20_000 : 60_000);
  const latency = await dispatchLatency(n, opts.quick ? 20 : 100);
  const failed = n > 1 ? await failover(n) : undefined;
  const rows = [
    { measure: "aggregate SubmitTask, 64 in flight (tasks/s)", value: round(submit.tasksPerSec, 0) },
    { measure: "aggregate SubmitTask p99 (ms)", value: round(submit.p99Ms, 1) },
    { measure: "e2e submit → SUCCEEDED (tasks/s)", value: round(end.tasksPerSec, 0) },
    ...Object.entries(latency).map(([where, s]) => ({
      measure: `dispatch: submit → handler, runner on ${where === "leader" ? "the leader" : "another server"} (p50 / p99 ms)`,
      value: `${round(s.p50, 2)} / ${round(s.p99, 2)}`,
    })),
    ...(failed
      ? [{ measure: "failover: leader SIGKILL → first new assign (ms)", value: failed.leaderKillToFirstAssignMs }]
      : []),
  ];
  printTable(`cluster, ${n} server(s)`, rows);
  writeResult(`cluster-${n}`, { servers: n, submit, e2e: end, dispatchLatency: latency, failover: failed });
  return {
    resultName: `cluster-${n}`,
    targets: failed ? [target(`failover with ${n} servers`, failed.leaderKillToFirstAssignMs, "<=", 7_000, " ms")] : [],
  };
}
