import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AdmissionPolicy,
  ErrorReason,
  EventType,
  RestartPolicy,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
  TERMINAL_PHASES,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import { describe, expect, it, onTestFinished } from "vitest";
import { BACKEND } from "./helpers/backend.js";
import { REPO_ROOT, runCli, startCli, stopChild } from "./helpers/cli.js";
import { type Cluster, startCluster } from "./helpers/cluster.js";
import { fileGate } from "./helpers/gate.js";
import { freePort } from "./helpers/ports.js";
import { freshDatabase } from "./helpers/postgres.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

// The postgres project only: several servers share one database, which only PostgreSQL offers (a SQLite
// file has one server, its lock says so: test/single-writer.test.ts).
const describeCluster = describe.skipIf(BACKEND !== "postgres");

const TERMINAL = new Set<TaskPhase>(TERMINAL_PHASES);

async function runner(address: string, name: string, capacity = 2): Promise<RunnerProcess> {
  const started = await startRunner(address, name, { capacity });
  onTestFinished(async () => {
    await started.stop("SIGKILL");
  });
  return started;
}

/** Waits until every task is terminal, asking any server that answers. */
async function allTerminal(servers: readonly { client: SupervisorClient }[], ids: readonly string[]): Promise<Task[]> {
  const done = new Map<string, Task>();
  await waitUntil(
    async () => {
      for (const id of ids) {
        if (done.has(id)) continue;
        for (const { client } of servers) {
          const task = await client.get(id).catch(() => undefined);
          if (!task) continue;
          if (TERMINAL.has(task.status!.phase)) done.set(id, task);
          break;
        }
      }
      return done.size === ids.length;
    },
    `${ids.length} tasks to end`,
    90_000,
    100,
  );
  return ids.map((id) => done.get(id)!);
}

/** Active runs per runner, as the database has them, sampled until stopped; resolves with the most seen. */
function sampleCapacity(cluster: Cluster): { stop(): Promise<number> } {
  let most = 0;
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      const rows = await cluster.sql("SELECT count(*)::int AS n FROM runs WHERE phase IN (1, 2) GROUP BY runner_id");
      for (const row of rows) most = Math.max(most, row.n as number);
      await new Promise((resolve) => setTimeout(resolve, 10)); // bound: paces a bounded sampling loop
    }
  })();
  return {
    async stop() {
      stopped = true;
      await sampling;
      return most;
    },
  };
}

/** A command that marks its run in `dir` while it runs, and leaves a "twice" file if the task ran twice at once. */
function exclusive(dir: string, key: string, seconds: number) {
  const lock = join(dir, `running-${key}`);
  return subprocess("sh", ["-c", `mkdir '${lock}' || touch '${dir}/twice-${key}'; sleep ${seconds}; rmdir '${lock}'`], {
    restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
    maxAttempts: 5,
  });
}

/** Submits one task after another to the servers in turn, moving on past one that is down; stops on `stop()`. */
function submitUnderLoad(
  servers: readonly { client: SupervisorClient }[],
  spec: (i: number) => ReturnType<typeof subprocess>,
) {
  const acknowledged: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const requestId = `load-${i}`;
      for (let attempt = 0; ; attempt++) {
        const { client } = servers[(i + attempt) % servers.length]!;
        const task = await client.submit(spec(i), { requestId, deadlineMs: 2_000 }).catch(() => undefined);
        if (task) {
          acknowledged.push(task.id);
          break;
        }
      }
    }
  })();
  return {
    acknowledged,
    async stop() {
      stopped = true;
      await loop;
      return acknowledged;
    },
  };
}

describeCluster("several servers on one PostgreSQL database", { timeout: 180_000 }, () => {
  it("runners and submits spread over three servers all complete, and no runner runs more than its capacity", async () => {
    const cluster = await startCluster(3);
    const runners = await Promise.all(cluster.servers.map((server, i) => runner(server.address, `spread-${i}`)));
    const sampler = sampleCapacity(cluster);
    const submitted = await Promise.all(
      Array.from({ length: 36 }, (_, i) => cluster.servers[i % 3]!.client.submit(subprocess("sleep", ["0.2"]))),
    );
    const ended = await allTerminal(
      cluster.servers,
      submitted.map((task) => task.id),
    );
    expect(ended.map((task) => task.status!.phase)).toEqual(ended.map(() => TaskPhase.TASK_PHASE_SUCCEEDED));
    expect(await sampler.stop()).toBeLessThanOrEqual(2);
    // Dispatch (on the leader) used the runners of every server.
    expect(new Set(ended.map((task) => task.status!.runnerId))).toEqual(new Set(runners.map((r) => r.id)));
    // Each attempt ran once.
    expect(ended.map((task) => task.status!.attempt)).toEqual(ended.map(() => 1));
  });

  it("one slot submitted to from all three servers at once has exactly one owner", async () => {
    const cluster = await startCluster(3);
    await runner(cluster.servers[1]!.address, "slot-runner");
    const gate = fileGate(tempDir(), "slot");
    const spec = subprocess("sh", ["-c", gate.wait], {
      slot: "the-one",
      admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => cluster.servers[i % 3]!.client.submit(spec, { requestId: `slot-${i}` })),
    );
    const owners = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(owners).toHaveLength(1);
    const refusals = outcomes.filter((outcome) => outcome.status === "rejected");
    for (const refusal of refusals)
      expect((refusal as PromiseRejectedResult).reason.reason).toBe(ErrorReason.SLOT_BUSY);
    gate.open();
    const [owner] = await allTerminal(cluster.servers, [(owners[0] as PromiseFulfilledResult<Task>).value.id]);
    expect(owner!.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("a watch on each server sees the same contiguous revisions", async () => {
    const cluster = await startCluster(3);
    await runner(cluster.servers[2]!.address, "watch-runner", 4);
    const from = (await cluster.servers[0]!.client.submit(subprocess("true"))).revision;
    const watches = cluster.servers.map(({ client }) => {
      const controller = new AbortController();
      onTestFinished(() => controller.abort());
      const events: WatchTasksResponse[] = [];
      let until = Number.POSITIVE_INFINITY;
      const done = (async () => {
        for await (const event of client.watch({ sinceRevision: from, signal: controller.signal })) {
          if (event.type === EventType.EVENT_TYPE_BOOKMARK) continue;
          events.push(event);
          if (event.revision >= until) controller.abort();
        }
      })();
      return {
        events,
        upTo(revision: number) {
          until = revision;
          if (events.some((event) => event.revision >= revision)) controller.abort();
          return done.catch(() => {});
        },
      };
    });
    const tasks = await Promise.all(
      Array.from({ length: 30 }, (_, i) => cluster.servers[i % 3]!.client.submit(subprocess("true"))),
    );
    const ended = await allTerminal(
      cluster.servers,
      tasks.map((task) => task.id),
    );
    const last = Math.max(...ended.map((task) => task.revision));
    await Promise.all(watches.map((watch) => watch.upTo(last)));
    const seen = watches.map((watch) =>
      watch.events
        .filter((event) => event.revision <= last)
        .map((event) => [event.revision, event.type, event.task?.id]),
    );
    const revisions = seen[0]!.map(([revision]) => revision as number);
    expect(revisions).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });

  for (const victim of ["leader", "follower"] as const) {
    it(`a ${victim} SIGKILLed under load: nothing acknowledged is lost, no task runs twice at once, all end`, async () => {
      const cluster = await startCluster(3);
      const leader = await cluster.leader();
      const killed = victim === "leader" ? leader : cluster.servers.find((server) => server !== leader)!;
      const rest = cluster.servers.filter((server) => server !== killed);
      // Each runner names every server, its own first: it moves to the next when its server goes.
      await Promise.all(cluster.servers.map((_, i) => runner(cluster.target(i), `${victim}-runner-${i}`, 3)));
      const dir = tempDir();
      const load = submitUnderLoad(cluster.servers, (i) => exclusive(dir, `k${i}`, 0.3));
      await waitUntil(() => load.acknowledged.length >= 20, "20 submits acknowledged");
      await killed.kill("SIGKILL");
      const newLeader = victim === "leader" ? await cluster.leader(rest) : leader;
      expect(rest).toContain(newLeader);
      const more = load.acknowledged.length + 20;
      await waitUntil(() => load.acknowledged.length >= more, "20 more submits acknowledged after the kill", 60_000);
      const acknowledged = await load.stop();
      const ended = await allTerminal(rest, acknowledged);
      expect(ended.map((task) => task.id)).toEqual(acknowledged);
      expect(ended.filter((task) => task.status!.phase !== TaskPhase.TASK_PHASE_SUCCEEDED)).toEqual([]);
      expect(readdirSync(dir).filter((name) => name.startsWith("twice-"))).toEqual([]);
    });
  }

  it("a server started after its lone predecessor was SIGKILLed leads at once, not after the old lease", async () => {
    // A lease of ten minutes: only seeing that the holder has no session left lets the new server lead in time.
    const cluster = await startCluster(1, ["--leader-lease-ttl", "10m"]);
    const first = await cluster.leader();
    const [held] = await cluster.sql("SELECT server_id, epoch FROM leader");
    await first.kill("SIGKILL");
    const second = await cluster.add();
    expect(await cluster.leader([second])).toBe(second);
    const [now] = await cluster.sql(
      "SELECT server_id, epoch, expires_at > now() + interval '5 minutes' AS fresh FROM leader",
    );
    expect(now!.server_id).not.toBe(held!.server_id);
    expect(Number(now!.epoch)).toBe(Number(held!.epoch) + 1);
    expect(now!.fresh).toBe(true);
    const task = await second.client.submit(subprocess("true"));
    await runner(cluster.target(0), "after-restart", 1);
    expect((await second.client.waitFor(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("a runner whose server goes away moves to another server and keeps its run", async () => {
    const cluster = await startCluster(2);
    const leader = await cluster.leader();
    const first = cluster.servers.indexOf(cluster.servers.find((server) => server !== leader)!);
    const moving = await runner(cluster.target(first), "moving-runner");
    const dir = tempDir();
    const gate = fileGate(dir, "moved");
    const marker = join(dir, "ran");
    const task = await leader.client.submit(
      subprocess("sh", ["-c", `touch '${marker}'; ${gate.wait}; echo done`], {
        restart: RestartPolicy.RESTART_POLICY_NEVER,
      }),
    );
    await waitUntil(
      async () => (await leader.client.get(task.id)).status!.reason === TaskReason.STARTED,
      "the run to start",
    );
    expect(existsSync(marker)).toBe(true);
    await cluster.servers[first]!.kill("SIGKILL");
    await waitUntil(() => moving.output().includes("reconnecting"), "the runner to notice its server is gone");
    gate.open();
    const [ended] = await allTerminal([leader], [task.id]);
    expect(ended!.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1, runnerId: moving.id });
    expect((await leader.client.listRuns(task.id)).map((run) => run.exitCode)).toEqual([0]);
  });

  it("the README's three servers on one database and a runner naming them all work as written", async () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, "utf8");
    const section = readme.slice(readme.indexOf("\n### Several servers\n"));
    const block = section.match(/```sh\n([\s\S]*?)```/)![1]!;
    const lines = block.split("\n").filter(Boolean);
    const database = await freshDatabase();
    onTestFinished(() => database.drop());
    // The README's database and ports, here a test database and free ports; every command as written otherwise.
    const ports = new Map<string, string>();
    for (const port of new Set(block.match(/127\.0\.0\.1:(\d+)/g))) ports.set(port, `127.0.0.1:${await freePort()}`);
    const here = (line: string) => line.replace(/127\.0\.0\.1:\d+/g, (address) => ports.get(address)!);
    expect(lines[0]).toMatch(/^DB=postgres:\/\/\S+$/);
    const commands = lines.slice(1).map((line) => here(line).replace("$DB", database.url).replace(/ &$/, ""));
    const serves = commands.filter((line) => line.startsWith("npx supervisor serve "));
    expect(serves).toHaveLength(3);
    for (const line of commands) expect(line).toMatch(/^npx supervisor (serve|runner) /);
    const started = [];
    for (const line of commands) {
      const args = line.slice("npx supervisor ".length).split(" ");
      const child = await startCli(args, args[0] === "serve" ? /serving on/ : /connected to/);
      onTestFinished(async () => {
        await stopChild(child.child, "SIGKILL");
      });
      started.push(child);
    }
    const addresses = [...ports.values()];
    const clients = addresses.map((address) => new SupervisorClient({ address }));
    onTestFinished(() => {
      for (const client of clients) client.close();
    });
    const tasks = await Promise.all(clients.map((client) => client.submit(subprocess("echo", ["from the README"]))));
    const ended = await allTerminal(
      clients.map((client) => ({ client })),
      tasks.map((task) => task.id),
    );
    expect(ended.map((task) => task.status!.phase)).toEqual(ended.map(() => TaskPhase.TASK_PHASE_SUCCEEDED));
  });

  it("one runner name on two servers: the second process is refused while the first holds it, then takes it", async () => {
    const cluster = await startCluster(2);
    const holder = await runner(cluster.servers[0]!.address, "one-name");
    const second = await runCli(["runner", "--addr", cluster.servers[1]!.address, "--name", "one-name"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/runner name one-name is in use by a live runner connected from server \S+/);
    // Once the holder is gone (its server records the disconnect), a new process takes the name elsewhere.
    await holder.stop("SIGKILL");
    const next = await waitUntil(
      () => startRunner(cluster.servers[1]!.address, "one-name").catch(() => undefined),
      "the name to be free",
    );
    onTestFinished(async () => {
      await next.stop("SIGKILL");
    });
    expect(next.id).toBe(holder.id);
  });
});
