import { execFileSync } from "node:child_process";
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
} from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND, storeForTest } from "./helpers/backend.js";
import { runCli, startCli, stopChild } from "./helpers/cli.js";
import { freePort } from "./helpers/ports.js";
import { faultSeed, prng } from "./helpers/prng.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { startTestServer, tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

/** A whole number in [low, high), from the test's seeded stream. */
const between = (random: () => number, low: number, high: number) => low + Math.floor(random() * (high - low));
/** Waits until a random moment low..high ms away (seeded): when the next fault strikes. */
const randomMoment = (random: () => number, low: number, high: number) =>
  new Promise((resolve) => setTimeout(resolve, between(random, low, high))); // scenario pause: the fault's moment
/**
 * A submitter's pace between retries while the server is down: part of the load, not a wait for anything. (Waiting
 * for the channel to be ready instead follows grpc-js's reconnect backoff and halves the submits that get through.)
 */
const retryPace = () => new Promise((resolve) => setTimeout(resolve, 30)); // scenario pause: the load's retry pace
const TERMINAL = [
  TaskPhase.TASK_PHASE_SUCCEEDED,
  TaskPhase.TASK_PHASE_FAILED,
  TaskPhase.TASK_PHASE_TIMEOUT,
  TaskPhase.TASK_PHASE_CANCELED,
  TaskPhase.TASK_PHASE_EXHAUSTED,
];

/** A task that records the run executing it, once per execution. */
const recordingTask = (log: string, sleepSeconds: string) =>
  subprocess("sh", ["-c", `echo "$SUPERVISOR_RUN_ID" >> ${log}; sleep ${sleepSeconds}`], {
    restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
    maxAttempts: 20,
    backoff: {
      initialDelay: { seconds: 0, nanos: 50_000_000 },
      maxDelay: { seconds: 0, nanos: 200_000_000 },
      multiplier: 2,
      jitter: Jitter.JITTER_FULL,
    },
  });

async function allTasks(client: SupervisorClient): Promise<Task[]> {
  const tasks: Task[] = [];
  for await (const task of client.list({ pageSize: 1000 })) tasks.push(task);
  return tasks;
}

/** The tasks once every one of `ids` has ended, or as they are after `maxWaitMs` (the caller's checks name the rest). */
async function settle(client: SupervisorClient, ids: Iterable<string>, maxWaitMs: number): Promise<Map<string, Task>> {
  let tasks = new Map<string, Task>();
  const allEnded = async () => {
    tasks = new Map((await allTasks(client)).map((t) => [t.id, t]));
    return [...ids].every((id) => TERMINAL.includes(tasks.get(id)?.status?.phase as TaskPhase));
  };
  await waitUntil(allEnded, "every task to end", maxWaitMs, 100).catch(allEnded); // given up: one last look
  return tasks;
}

/** Every run id in the log executed at most once, and every run of every task is accounted for once. */
async function checkRuns(client: SupervisorClient, tasks: Iterable<Task>, log: string) {
  const executions = readFileSync(log, "utf8").split("\n").filter(Boolean);
  const duplicates = executions.filter((id, i) => executions.indexOf(id) !== i);
  expect(duplicates, "a run id executed twice").toEqual([]);
  let lost = 0;
  for (const task of tasks) {
    const runs = await client.listRuns(task.id);
    expect(
      runs.map((r) => r.attempt),
      task.id,
    ).toEqual(runs.map((_, i) => i + 1)); // 1..n, each once
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
    expect(task.status!.attempt).toBe(runs.length);
    expect(runs.at(-1)!.phase).toBe(RunPhase.RUN_PHASE_SUCCEEDED);
    expect(runs.filter((r) => r.phase === RunPhase.RUN_PHASE_SUCCEEDED)).toHaveLength(1);
    lost += runs.filter((r) => r.phase === RunPhase.RUN_PHASE_LOST).length;
  }
  return { executions: executions.length, lost };
}

describe("crash and fault tolerance", () => {
  it("survives 20 SIGKILLs at random moments while clients submit and runners work", { timeout: 240_000 }, async () => {
    const random = prng(faultSeed("faults: 20 SIGKILLs of the supervisor"));
    const dir = tempDir("supervisor-kill-");
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = await storeForTest(dir, "kill.db");
    const log = join(dir, "runs.log");
    const listen = `127.0.0.1:${await freePort()}`;
    const serve = () =>
      startCli(
        ["serve", "--listen", listen, "--db", db, "--lease-ttl", "2s", "--heartbeat-interval", "200ms"],
        /serving on/,
      );
    let server = await serve();
    onTestFinished(async () => {
      await stopChild(server.child, "SIGKILL");
    });
    const runners: RunnerProcess[] = [];
    onTestFinished(async () => {
      for (const runner of runners) await runner.stop("SIGKILL");
    });
    for (const name of ["kill-a", "kill-b"]) runners.push(await startRunner(listen, name, { capacity: 4 }));
    const patient = { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 };

    // A watcher that lives through every restart: revisions must arrive contiguous and in order.
    const watcher = new SupervisorClient({ address: listen, retry: patient });
    onTestFinished(() => watcher.close());
    const revisions: number[] = [];
    const stopWatching = new AbortController();
    onTestFinished(() => stopWatching.abort());
    const watching = (async () => {
      for await (const event of watcher.watch({ sinceRevision: 0, signal: stopWatching.signal })) {
        if (event.type !== EventType.EVENT_TYPE_BOOKMARK) revisions.push(event.revision);
      }
    })().catch((error: unknown) => error);

    // Submitters: an answer means committed; a failure is retried with the same request id.
    const client = new SupervisorClient({
      address: listen,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
      deadlineMs: 3000,
    });
    onTestFinished(() => client.close());
    const acknowledged = new Set<string>();
    // Each kill waits for a few acknowledged submits since the last restart, so a slow machine still tests 100+.
    let ackWaiter: (() => void) | undefined;
    const acknowledge = (id: string) => {
      acknowledged.add(id);
      ackWaiter?.();
    };
    const acknowledgedAtLeast = (count: number) =>
      new Promise<void>((resolve) => {
        ackWaiter = () => {
          if (acknowledged.size < count) return;
          ackWaiter = undefined;
          resolve();
        };
        ackWaiter();
      });
    let submitting = true;
    let failures = 0;
    const submitters = Array.from({ length: 6 }, async (_, worker) => {
      for (let i = 0; submitting; i++) {
        const requestId = `kill-${worker}-${i}`;
        for (;;) {
          try {
            acknowledge((await client.submit(recordingTask(log, "0.05"), { requestId })).id);
            break;
          } catch {
            failures++;
            if (!submitting) return;
            await retryPace();
          }
        }
      }
    });

    for (let kill = 0; kill < 20; kill++) {
      const before = acknowledged.size;
      await randomMoment(random, 150, 500);
      await acknowledgedAtLeast(before + 5);
      expect(await stopChild(server.child, "SIGKILL")).toBeNull(); // killed, not exited
      server = await serve();
    }
    submitting = false;
    await Promise.all(submitters);

    const settled = await settle(watcher, acknowledged, 90_000); // a patient client: the server has only just restarted
    const lostTasks = [...acknowledged].filter((id) => !settled.has(id));
    expect(lostTasks, "acknowledged submits missing after the crashes").toEqual([]);
    const stuck = [...acknowledged].filter((id) => settled.get(id)!.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(stuck, "tasks not SUCCEEDED after the crashes").toEqual([]);
    const { executions } = await checkRuns(
      watcher,
      [...acknowledged].map((id) => settled.get(id)!),
      log,
    );
    expect(executions).toBeGreaterThanOrEqual(acknowledged.size);
    expect(acknowledged.size).toBeGreaterThanOrEqual(100);
    expect(failures).toBeGreaterThan(0); // the kills really hit in-flight calls

    stopWatching.abort();
    await watching;
    expect(revisions.length).toBeGreaterThan(acknowledged.size);
    expect(revisions, "watch revisions across 20 restarts: contiguous, in order").toEqual(
      revisions.map((_, i) => revisions[0]! + i),
    );

    console.log(
      `kill test: 20 kills, ${acknowledged.size} acknowledged submits, 0 lost, ${failures} failed calls retried, ${executions} executions, ${revisions.length} watch events`,
    );
  });

  it("runners killed with SIGKILL mid-run: runs LOST and retried, no run id executed twice", {
    timeout: 120_000,
  }, async () => {
    const random = prng(faultSeed("faults: runners killed mid-run"));
    const server = await startTestServer({ leaseTtl: "700ms", heartbeatInterval: "150ms" });
    onTestFinished(() => server.close());
    const dir = tempDir("supervisor-fence-");
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "runs.log");
    const names = ["fence-a", "fence-b", "fence-c"];
    const runners: RunnerProcess[] = [];
    onTestFinished(async () => {
      for (const runner of runners) await runner.stop("SIGKILL");
    });
    for (const name of names) runners.push(await startRunner(server.address, name, { capacity: 3 }));
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    const tasks = await client.submitBatch(Array.from({ length: 30 }, () => recordingTask(log, "0.4")));
    for (let round = 0; round < 6; round++) {
      await randomMoment(random, 200, 500);
      const victim = between(random, 0, runners.length);
      await runners[victim]!.stop("SIGKILL");
      runners[victim] = await startRunner(server.address, names[victim]!, { capacity: 3 });
    }
    const settled = await settle(
      client,
      tasks.map((t) => t.id),
      60_000,
    );
    const notDone = tasks
      .filter((t) => settled.get(t.id)!.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED)
      .map((t) => t.id);
    expect(notDone).toEqual([]);
    const { lost } = await checkRuns(
      client,
      tasks.map((t) => settled.get(t.id)!),
      log,
    );
    expect(lost).toBeGreaterThan(0);
  });

  it("an ambiguous submit (deadline hit after the commit) retried with the same request id creates exactly one task", async () => {
    const server = await startTestServer();
    onTestFinished(() => server.close());
    const client = new SupervisorClient({
      address: server.address,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
    });
    onTestFinished(() => client.close());
    let ambiguous = 0;
    for (let i = 0; i < 300 && ambiguous < 20; i++) {
      const requestId = `ambiguous-${i}`;
      const spec = subprocess("echo", [String(i)], { labels: { test: "ambiguous" } });
      const first = await client.submit(spec, { requestId, deadlineMs: 1 }).catch((e: SupervisorError) => e);
      if (first instanceof SupervisorError) {
        expect(first.code).toBe(status.DEADLINE_EXCEEDED);
        ambiguous++;
      }
      await client.submit(spec, { requestId }); // the retry
    }
    expect(ambiguous).toBeGreaterThan(0);
    const stored = await allTasks(client);
    const requestIds = stored.filter((t) => t.spec!.labels.test === "ambiguous").map((t) => t.requestId);
    expect(new Set(requestIds).size).toBe(requestIds.length); // one task per request id
  });
});

/** A tmpfs of `size` at a fresh dir, or undefined where mounting is not allowed. */
function smallDisk(size: string): string | undefined {
  const dir = tempDir("supervisor-disk-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}
function mountAllowed(): boolean {
  const dir = smallDisk("64k");
  if (dir) {
    execFileSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
  } else console.warn("SKIP disk fault tests: this machine does not allow mounting a tmpfs (needs root)");
  return dir !== undefined;
}
/** The disk fault tests run where a tmpfs can be mounted, in the sqlite project (why: above them). */
const canMount = BACKEND === "sqlite" && mountAllowed();

/** A small disk for the running test, unmounted (every mount on it) and removed once the test is over. */
function diskForThisTest(size: string): string {
  const disk = smallDisk(size)!;
  onTestFinished(() => {
    execFileSync("sh", ["-c", `while umount -l ${disk} 2>/dev/null; do :; done`]);
    rmSync(disk, { recursive: true, force: true });
  });
  return disk;
}

// SQLite only: a tmpfs under the database file, filled or made read-only. On PostgreSQL the disk is the
// database server's, not the supervisor's: a full disk there fails PostgreSQL's writes (SQLSTATE class 53,
// which server/src/store/postgres/errors.ts maps to STORE_UNAVAILABLE) or makes it stop and restart, the
// case test/postgres-restart.test.ts covers under load.
describe.skipIf(!canMount)("disk faults (a real tmpfs)", () => {
  it("disk full: writes fail UNAVAILABLE / STORE_UNAVAILABLE, reads keep working, and it recovers when space returns", async () => {
    const disk = diskForThisTest("640k");
    const server = await startTestServer({ db: join(disk, "full.db") });
    onTestFinished(() => server.close());
    const client = new SupervisorClient({
      address: server.address,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
    });
    onTestFinished(() => client.close());
    const acknowledged: string[] = [];
    let error: SupervisorError | undefined;
    for (let i = 0; i < 5000 && !error; i++) {
      const result = await client.submit(subprocess("echo", ["x".repeat(2000)])).catch((e: SupervisorError) => e);
      if (result instanceof SupervisorError) error = result;
      else acknowledged.push(result.id);
    }
    expect(error, "the disk should have filled up").toBeDefined();
    expect({ code: error!.code, reason: error!.reason }).toEqual({
      code: status.UNAVAILABLE,
      reason: ErrorReason.STORE_UNAVAILABLE,
    });
    expect((await client.get(acknowledged[0]!)).id).toBe(acknowledged[0]); // still serving
    execFileSync("mount", ["-o", "remount,size=64m", disk]);
    const after = await client.submit(subprocess("echo", ["after"]));
    expect((await client.get(after.id)).id).toBe(after.id);
    const stored = new Set((await allTasks(client)).map((t) => t.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });

  it("disk full while a run ends: the end is retried until it commits, then the task ends with its real outcome", async () => {
    const disk = diskForThisTest("16m");
    const outside = tempDir();
    onTestFinished(() => rmSync(outside, { recursive: true, force: true }));
    const go = join(outside, "go");
    const listen = `127.0.0.1:${await freePort()}`;
    const serve = await startCli(["serve", "--listen", listen, "--db", join(disk, "full-run.db")], /serving on/);
    onTestFinished(async () => {
      await stopChild(serve.child, "SIGKILL");
    });
    const runner = await startRunner(listen, "disk-full-runner");
    onTestFinished(async () => {
      await runner.stop("SIGKILL");
    });
    const client = new SupervisorClient({
      address: listen,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 },
    });
    onTestFinished(() => client.close());
    const script = `until [ -e ${go} ]; do sleep 0.05; done; echo real-outcome; exit 7`;
    const task = await client.submit({
      ...subprocess("sh", ["-c", script]),
      restart: RestartPolicy.RESTART_POLICY_NEVER,
    });
    await waitUntil(async () => (await client.get(task.id)).status!.reason === "STARTED", "the run to start");
    // Fill the disk to the last byte, then let the run end.
    execFileSync("sh", ["-c", `dd if=/dev/zero of=${join(disk, "filler")} bs=64k 2>/dev/null; true`]);
    execFileSync("touch", [go]);
    await waitUntil(() => serve.output().includes("retrying until it commits"), "the failed commit of the run's end");
    const stuck = await client.get(task.id); // reads still work
    expect(stuck.status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    execFileSync("rm", [join(disk, "filler")]);
    const done = await waitUntil(async () => {
      const now = await client.get(task.id);
      return now.status!.phase !== TaskPhase.TASK_PHASE_RUNNING ? now : undefined;
    }, "the task to end once space returned");
    expect(done.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, exitCode: 7, attempt: 1 });
    const text: string[] = [];
    for await (const event of client.output(task.id))
      if (event.event?.$case === "chunk") text.push(event.event.value.data.toString());
    expect(text.join("")).toBe("real-outcome\n");
    expect(serve.output()).toMatch(/of run \S+: committed after \d+ failed attempt/);
  });

  it("disk read-only: the server refuses to start with one clear line, and starts once the disk is writable", async () => {
    // A WAL database cannot even be opened on a read-only disk (SQLite must create its -shm file).
    // At run time, a disk the kernel remounts read-only fails writes like a full one (SQLITE_IOERR /
    // SQLITE_READONLY → UNAVAILABLE / STORE_UNAVAILABLE), the path the disk-full test exercises.
    const disk = diskForThisTest("64m");
    const db = join(disk, "ro.db");
    const first = await startTestServer({ db });
    onTestFinished(() => first.close());
    const seed = new SupervisorClient({ address: first.address });
    const before = await seed.submit(subprocess("echo", ["before"]));
    seed.close();
    await first.server.shutdown();
    execFileSync("mount", ["--bind", disk, disk]);
    execFileSync("mount", ["-o", "remount,bind,ro", disk]);
    const refused = await runCli(["serve", "--listen", "127.0.0.1:0", "--db", db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`supervisor: cannot open the database ${db}`);
    expect(refused.stderr).toContain("(is its disk read-only, full or missing?)");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    execFileSync("mount", ["-o", "remount,bind,rw", disk]);
    const server = await startTestServer({ db });
    onTestFinished(() => server.close());
    const client = new SupervisorClient({ address: server.address });
    onTestFinished(() => client.close());
    expect((await client.get(before.id)).id).toBe(before.id); // nothing lost
    expect((await client.submit(subprocess("echo", ["after"]))).id).toBeTruthy();
  });
});
