// e2e: submit → SUCCEEDED throughput with no-op embedded handlers.
// 4 SDK Runners in 2 child processes (2 each) vs the same load on 1 runner (same run).

import { closedLoop, noopSpec, submitRequest, taskClient, unary } from "../lib/clients.mjs";
import { cpuMeter, startSupervisor, startWorker } from "../lib/procs.mjs";
import { profiledPass } from "../lib/profile.mjs";
import { nowMs, printTable, RESULTS_DIR, round, sleep, summarize, target, writeResult } from "../lib/stats.mjs";
import { watchSucceeded } from "../lib/watch.mjs";

export const description = "submit → SUCCEEDED, no-op embedded handler, 4 runners in 2 processes (vs 1 runner)";

const CAPACITY = 64;
const BATCH = 200;
const IN_FLIGHT = 4;

/** One pass: `tasks` no-op tasks through runners laid out as `layout` (runner names per process). */
export async function e2ePass(label, layout, { tasks, timeoutMs, execArgv = [], settings = {} }) {
  const server = await startSupervisor(settings, { execArgv });
  const workers = [];
  try {
    for (const [p, runners] of layout.entries()) {
      workers.push(
        startWorker("runner-worker", {
          address: server.address,
          runners: runners.map((name) => ({ name: `${name}-p${p}`, capacity: CAPACITY })),
        }),
      );
    }
    await Promise.all(workers.map((w) => w.next("ready", 30_000)));
    const client = taskClient(server.address);
    const { revision } = await unary(client, "listTasks", { pageSize: 1, pageToken: "", filter: undefined });
    const latencies = [];
    let lastAt = 0;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const watch = watchSucceeded(client, {
      sinceRevision: revision,
      onSucceeded: (task, at) => {
        lastAt = at;
        latencies.push(task.status.finishTime.getTime() - task.createTime.getTime());
        if (latencies.length >= tasks) done();
      },
    });
    await watch.live;
    const serverCpu = server.cpu();
    const workerCpu = workers.map((w) => cpuMeter(w.pid));
    const t0 = nowMs();
    const submit = await closedLoop({
      concurrency: IN_FLIGHT,
      durationMs: timeoutMs,
      maxOps: Math.ceil(tasks / BATCH),
      op: (i) =>
        unary(client, "batchSubmitTasks", {
          requests: Array.from({ length: Math.min(BATCH, tasks - i * BATCH) }, () => submitRequest(noopSpec())),
        }),
      units: (r) => r.tasks.length,
    });
    const submittedAt = nowMs();
    const remaining = Math.max(1, timeoutMs - (submittedAt - t0));
    const endedEarly = await Promise.race([
      finished.then(() => undefined),
      sleep(remaining).then(() => undefined),
      watch.ended.then((e) => e ?? new Error("watch ended")),
    ]);
    if (endedEarly) throw new Error(`the watch stream ended early: ${endedEarly.details ?? endedEarly.message}`);
    const completed = latencies.length;
    const elapsedMs = (completed ? lastAt : nowMs()) - t0;
    const result = {
      label,
      runners: layout.flat().length,
      processes: layout.length,
      capacityPerRunner: CAPACITY,
      submitted: submit.items,
      succeeded: completed,
      timedOut: completed < tasks,
      elapsedMs: round(elapsedMs, 1),
      submitPhaseMs: round(submittedAt - t0, 1),
      tasksPerSec: (completed / elapsedMs) * 1000,
      createToFinishMs: summarize(latencies),
      serverCpu: round(serverCpu().utilization, 2),
      runnerProcessCpu: workerCpu.map((m) => round(m().utilization, 2)),
      watchResumesAfterTooSlow: watch.state.resumes,
    };
    watch.cancel();
    client.close();
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
  }
}

export async function run(opts) {
  const tasks = opts.quick ? 3_000 : (opts.tasks ?? 20_000);
  const timeoutMs = opts.quick ? 20_000 : 60_000;
  const four = await e2ePass(
    "4 runners, 2 processes",
    [
      ["r1", "r2"],
      ["r3", "r4"],
    ],
    { tasks, timeoutMs },
  );
  const one = await e2ePass("1 runner, 1 process (baseline)", [["r1"]], { tasks, timeoutMs });
  const profile = opts.profile
    ? await profiledPass(
        "e2e",
        (execArgv) =>
          e2ePass(
            "4 runners, --cpu-prof",
            [
              ["r1", "r2"],
              ["r3", "r4"],
            ],
            { tasks, timeoutMs, execArgv },
          ),
        { resultsDir: RESULTS_DIR, printTable, units: (r) => r.tasksPerSec },
      )
    : undefined;
  const row = (r) => ({
    pass: r.label,
    "tasks/s": round(r.tasksPerSec, 0),
    succeeded: r.succeeded,
    "elapsed s": round(r.elapsedMs / 1000, 2),
    "submit s": round(r.submitPhaseMs / 1000, 2),
    "create→finish p50 ms": r.createToFinishMs.p50,
    "p99 ms": r.createToFinishMs.p99,
    "server CPU": r.serverCpu,
    "runner CPU": r.runnerProcessCpu.join(" + "),
    "watch resumes": r.watchResumesAfterTooSlow,
  });
  printTable(
    `e2e: ${tasks} no-op tasks, runners with capacity ${CAPACITY}, batch submit x${BATCH}`,
    [four, one].map(row),
  );
  const ratio = four.tasksPerSec / one.tasksPerSec;
  printTable("ratios", [{ ratio: "4 runners / 1 runner", value: round(ratio, 2) }]);
  const targets = [
    target("end-to-end no-op throughput", four.tasksPerSec, ">=", 5_000, " tasks/s"),
    target("end-to-end no-op throughput (stretch)", four.tasksPerSec, ">=", 10_000, " tasks/s"),
  ];
  printTable("targets", targets);
  return writeResult("e2e", {
    settings: {
      tasks,
      capacityPerRunner: CAPACITY,
      batch: BATCH,
      inFlight: IN_FLIGHT,
      timeoutMs,
      handler: "embedded noop (returns undefined at once)",
    },
    figures: { fourRunners: four, oneRunner: one },
    ratios: { fourOverOne: ratio },
    targets,
    profile,
  });
}
