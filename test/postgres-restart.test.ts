import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  EventType,
  Jitter,
  RestartPolicy,
  RunPhase,
  SupervisorClient,
  SupervisorError,
  subprocess,
  type Task,
  TaskPhase,
  TERMINAL_PHASES,
} from "@supervisor/sdk";
import { expect, it, onTestFinished } from "vitest";
import { startPostgres } from "../scripts/postgres-cluster.mjs";
import { describeOn } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { databaseUrl } from "./helpers/database-url.js";
import { runSql } from "./helpers/postgres.js";
import { faultSeed, prng } from "./helpers/prng.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

const RESTARTS = 6;
const TERMINAL = new Set<TaskPhase>(TERMINAL_PHASES);
/** How a failed call failed, as the test counts it: "UNAVAILABLE STORE_UNAVAILABLE". */
const failureOf = (error: unknown) =>
  error instanceof SupervisorError ? `${error.codeName} ${error.reason}` : `not a SupervisorError: ${String(error)}`;
/** A submitter's pace between retries while PostgreSQL is down: part of the load, not a wait for anything. */
const retryPace = () => new Promise((resolve) => setTimeout(resolve, 30)); // scenario pause: the load's retry pace
/** A random moment low..high ms away (seeded): when the next restart strikes. */
const randomMoment = (random: () => number, low: number, high: number) =>
  new Promise((resolve) => setTimeout(resolve, low + Math.floor(random() * (high - low)))); // scenario pause: the restart moment

/** A task that records the run executing it, once per execution; a run lost while the database was away is retried. */
const recordingTask = (log: string) =>
  subprocess("sh", ["-c", `echo "$SUPERVISOR_RUN_ID" >> ${log}; sleep 0.05`], {
    restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
    maxAttempts: 20,
    backoff: {
      initialDelay: { seconds: 0, nanos: 50_000_000 },
      maxDelay: { seconds: 0, nanos: 200_000_000 },
      multiplier: 2,
      jitter: Jitter.JITTER_FULL,
    },
  });

async function allTasks(client: SupervisorClient): Promise<Map<string, Task>> {
  const tasks = new Map<string, Task>();
  for await (const task of client.list({ pageSize: 1000 })) tasks.set(task.id, task);
  return tasks;
}

// The postgres project only: it stops and starts PostgreSQL itself, on a cluster of its own (not the run's
// shared one). The SQLite counterparts of "the store went away" are the disk faults of test/faults.test.ts.
describeOn("postgres")("a PostgreSQL restart under load", () => {
  it(`${RESTARTS} restarts (fast and immediate) while clients submit and runners work: STORE_UNAVAILABLE meanwhile, the server reconnects by itself, nothing acknowledged is lost`, {
    timeout: 240_000,
  }, async () => {
    const random = prng(faultSeed("postgres restart under load"));
    const cluster = await startPostgres();
    onTestFinished(() => cluster.stop());
    await runSql(cluster.url, ["CREATE DATABASE supervisor"]);
    const dir = tempDir("supervisor-pg-restart-");
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "runs.log");

    // One server for the whole test: it must come back by itself, never be restarted.
    const db = databaseUrl(cluster.url, "supervisor");
    const serve = await startCli(
      ["serve", "--listen", "127.0.0.1:0", "--db", db, "--heartbeat-interval", "200ms", "--lease-ttl", "2s"],
      /serving on (\S+)/,
    );
    onTestFinished(async () => {
      await stopChild(serve.child, "SIGKILL");
    });
    const address = serve.match[1]!;
    const runners: RunnerProcess[] = [];
    onTestFinished(async () => {
      for (const runner of runners) await runner.stop("SIGKILL");
    });
    for (const name of ["pg-restart-a", "pg-restart-b"])
      runners.push(await startRunner(address, name, { capacity: 4 }));

    // A watcher that lives through every restart: revisions must arrive contiguous and in order.
    const patient = { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 };
    const watcher = new SupervisorClient({ address, retry: patient });
    onTestFinished(() => watcher.close());
    const revisions: number[] = [];
    const stopWatching = new AbortController();
    onTestFinished(() => stopWatching.abort());
    const watching = (async () => {
      for await (const event of watcher.watch({ sinceRevision: 0, signal: stopWatching.signal })) {
        if (event.type !== EventType.EVENT_TYPE_BOOKMARK) revisions.push(event.revision);
      }
    })().catch((error: unknown) => error);

    // Submitters: an answer means committed; a failure is counted by code and reason, then retried with the same
    // request id.
    const once = { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 };
    const client = new SupervisorClient({ address, retry: once, deadlineMs: 5000 });
    onTestFinished(() => client.close());
    const acknowledged = new Set<string>();
    const failures = new Map<string, number>();
    let failed = 0;
    let submitting = true;
    const submitters = Array.from({ length: 6 }, async (_, worker) => {
      for (let i = 0; submitting; i++) {
        const requestId = `pg-restart-${worker}-${i}`;
        for (;;) {
          try {
            acknowledged.add((await client.submit(recordingTask(log), { requestId })).id);
            break;
          } catch (error) {
            failed++;
            failures.set(failureOf(error), (failures.get(failureOf(error)) ?? 0) + 1);
            if (!submitting) return;
            await retryPace();
          }
        }
      }
    });

    const modes = ["fast", "immediate"] as const;
    for (let restart = 0; restart < RESTARTS; restart++) {
      await waitUntil(() => acknowledged.size >= (restart + 1) * 30, "submits to be acknowledged", 60_000);
      await randomMoment(random, 50, 400);
      const failedBefore = failed;
      await cluster.halt(modes[restart % 2]);
      // While it is down, a read fails the same way as the writes.
      const read = await client.get([...acknowledged][0]!).catch((error: unknown) => error);
      expect(failureOf(read), "a read while PostgreSQL is down").toBe("UNAVAILABLE STORE_UNAVAILABLE");
      await waitUntil(() => failed >= failedBefore + 6, "submits to fail while PostgreSQL is down");
      await cluster.resume();
      const ackedBefore = acknowledged.size;
      await waitUntil(() => acknowledged.size > ackedBefore, "a submit to be acknowledged after the restart", 60_000);
    }
    submitting = false;
    await Promise.all(submitters);
    expect(serve.child.exitCode, "the server kept running through every restart").toBeNull();

    // Every failed call was the store being away, said as such: nothing else, no hang (no DEADLINE_EXCEEDED).
    expect([...failures.keys()]).toEqual([`${status[status.UNAVAILABLE]} ${ErrorReason.STORE_UNAVAILABLE}`]);
    expect(failed).toBeGreaterThanOrEqual(RESTARTS * 6);
    expect(serve.output()).toMatch(/store unavailable \(/);

    // Nothing acknowledged is lost, and every task ends (SUCCEEDED: a run lost to the outage is retried).
    let settled = new Map<string, Task>();
    const allEnded = async () => {
      settled = await allTasks(watcher);
      return [...acknowledged].every((id) => TERMINAL.has(settled.get(id)?.status?.phase as TaskPhase));
    };
    await waitUntil(allEnded, "every task to end", 90_000, 100).catch(allEnded); // given up: one last look
    expect(
      [...acknowledged].filter((id) => !settled.has(id)),
      "acknowledged submits missing",
    ).toEqual([]);
    const notSucceeded = [...acknowledged]
      .filter((id) => settled.get(id)!.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED)
      .map((id) => `${id}: ${JSON.stringify(settled.get(id)!.status)}`);
    expect(notSucceeded, `tasks not SUCCEEDED after the restarts; the server said:\n${serve.output()}`).toEqual([]);

    // Every run executed at most once, and each task's runs are attempts 1..n with one success, the last.
    const executions = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(
      executions.filter((id, i) => executions.indexOf(id) !== i),
      "a run id executed twice",
    ).toEqual([]);
    for (const id of acknowledged) {
      const runs = await watcher.listRuns(id);
      expect(
        runs.map((run) => run.attempt),
        id,
      ).toEqual(runs.map((_, i) => i + 1));
      expect(runs.at(-1)!.phase).toBe(RunPhase.RUN_PHASE_SUCCEEDED);
      expect(runs.filter((run) => run.phase === RunPhase.RUN_PHASE_SUCCEEDED)).toHaveLength(1);
    }

    stopWatching.abort();
    await watching;
    expect(revisions.length).toBeGreaterThan(acknowledged.size);
    expect(revisions, "watch revisions across the restarts: contiguous, in order").toEqual(
      revisions.map((_, i) => revisions[0]! + i),
    );
    console.log(
      `postgres restart test: ${RESTARTS} restarts, ${acknowledged.size} acknowledged submits, 0 lost, ` +
        `${failed} failed calls (all STORE_UNAVAILABLE) retried, ${executions.length} executions`,
    );
  });
});
