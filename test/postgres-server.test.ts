import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  EventType,
  SupervisorClient,
  subprocess,
  type Task,
  TaskPhase,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import { expect, it, onTestFinished } from "vitest";
import { describeOn } from "./helpers/backend.js";
import { runCli, startCli, stopChild } from "./helpers/cli.js";
import { freePort } from "./helpers/ports.js";
import { freshDatabase, type TestDatabase } from "./helpers/postgres.js";
import { startRunner } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";

const READY = /supervisor serving on (\S+) \((.*)\)/;

async function database(): Promise<TestDatabase> {
  const made = await freshDatabase();
  onTestFinished(() => made.drop());
  return made;
}

/** `supervisor serve` with `args` (and `env`), stopped when the test is over if it was not before. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  const started = await startCli(["serve", "--listen", "127.0.0.1:0", ...args], READY, { env });
  onTestFinished(async () => {
    await stopChild(started.child, "SIGKILL");
  });
  const client = new SupervisorClient({ address: started.match[1]! });
  onTestFinished(() => client.close());
  return { ...started, address: started.match[1]!, store: started.match[2]!, client };
}

/** A watch (initial snapshot included) collecting its events; `live` resolves at its first BOOKMARK. */
function watchAll(client: SupervisorClient) {
  const controller = new AbortController();
  onTestFinished(() => controller.abort());
  const events: WatchTasksResponse[] = [];
  let isLive = () => {};
  const live = new Promise<void>((resolve) => (isLive = resolve));
  let wanted: (event: WatchTasksResponse) => boolean = () => false;
  const done = (async () => {
    for await (const event of client.watch({ sendInitial: true, signal: controller.signal })) {
      events.push(event);
      if (event.type === EventType.EVENT_TYPE_BOOKMARK) isLive();
      if (wanted(event)) controller.abort();
    }
    return events;
  })();
  return {
    live,
    /** The events up to the first that `last` accepts. */
    until(last: (event: WatchTasksResponse) => boolean) {
      wanted = last;
      if (events.some(last)) controller.abort();
      return done;
    },
  };
}

const succeeded = (id: string) => (event: WatchTasksResponse) =>
  event.task?.id === id && event.task.status?.phase === TaskPhase.TASK_PHASE_SUCCEEDED;

// The postgres project only: what it tests is naming a PostgreSQL database (--db, SUPERVISOR_DB, the config
// file) and PostgreSQL's refusals; every other end-to-end test runs on PostgreSQL there as well.
describeOn("postgres")("supervisor serve --db postgres://…", () => {
  it("submits, runs a task on a runner, watches it, and after a restart the task is still there", async () => {
    const db = await database();
    const first = await serve(["--db", db.url]);
    expect(first.store).toBe(`db ${db.url}`);
    const runner = await startRunner(first.address, "postgres-runner");
    onTestFinished(async () => {
      await runner.stop("SIGKILL");
    });

    const earlier = await first.client.submit(subprocess("echo", ["listed first"]));
    await first.client.waitFor(earlier.id);
    const watch = watchAll(first.client);
    await watch.live;
    const task = await first.client.submit(subprocess("echo", ["hello from postgres"]));
    const watched = await watch.until(succeeded(task.id));
    const finished = await first.client.waitFor(task.id);
    expect(finished.status?.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);

    // The watch listed what was stored (the first task, done), said the snapshot was complete, then followed.
    const bookmark = watched.findIndex((event) => event.type === EventType.EVENT_TYPE_BOOKMARK);
    expect(watched.slice(0, bookmark).map((event) => [event.type, event.task?.id])).toEqual([
      [EventType.EVENT_TYPE_ADDED, earlier.id],
    ]);
    const followed = watched.slice(bookmark).filter((event) => event.type !== EventType.EVENT_TYPE_BOOKMARK);
    expect(followed.map((event) => event.task?.id)).toEqual(followed.map(() => task.id));
    expect(followed[0]!.type).toBe(EventType.EVENT_TYPE_ADDED);
    expect(followed.at(-1)!.task!.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(followed.at(-1)!.revision).toBe(finished.revision);
    const revisions = followed.map((event) => event.revision);
    expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
    const logs = await runCli(["logs", task.id, "--addr", first.address]);
    expect(logs).toMatchObject({ code: 0, stdout: "hello from postgres\n" });

    await runner.stop();
    expect(await stopChild(first.child)).toBe(0);

    const second = await serve(["--db", db.url]);
    const stored: Task = await second.client.get(task.id);
    expect(stored).toEqual(finished);
    expect((await second.client.listRuns(task.id)).map((run) => run.exitCode)).toEqual([0]);
    // The revisions go on from where they were, and the journal kept them: a watch from the start replays them.
    const next = await second.client.submit(subprocess("echo", ["after the restart"]));
    expect(next.revision).toBeGreaterThan(finished.revision);
    const controller = new AbortController();
    onTestFinished(() => controller.abort());
    const replayed: number[] = [];
    for await (const event of second.client.watch({ sinceRevision: 1, signal: controller.signal })) {
      if (event.type !== EventType.EVENT_TYPE_BOOKMARK) replayed.push(event.revision);
      if (event.revision >= next.revision) controller.abort();
    }
    expect(replayed).toEqual(Array.from({ length: next.revision - 1 }, (_, i) => i + 2));
  });

  it("SUPERVISOR_DB and the config file name a PostgreSQL database too, shown without its password", async () => {
    const db = await database();
    const withPassword = new URL(db.url);
    withPassword.password = "s3cret"; // the test cluster trusts loopback: any password is let in
    const shown = `db postgres://postgres:***@${withPassword.host}/${db.name}`;

    const fromEnv = await serve([], { SUPERVISOR_DB: withPassword.toString() });
    expect(fromEnv.store).toBe(shown);
    expect(fromEnv.output()).not.toContain("s3cret");
    const task = await fromEnv.client.submit(subprocess("echo", ["from the env"]));
    expect(await stopChild(fromEnv.child)).toBe(0);

    const file = join(tempDir(), "supervisor.json");
    writeFileSync(file, JSON.stringify({ db: withPassword.toString() }));
    const fromFile = await serve(["--config", file]);
    expect(fromFile.store).toBe(shown);
    expect((await fromFile.client.get(task.id)).id).toBe(task.id);
  });

  it("a database that cannot be opened is one line naming it, with a hint, and exit 1", async () => {
    const port = await freePort();
    const unreachable = await runCli([
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--db",
      `postgres://u:pw@127.0.0.1:${port}/x`,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toBe("");
    expect(unreachable.stderr).toMatch(
      new RegExp(
        `^supervisor: cannot open the database postgres://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/x: .*ECONNREFUSED.* ` +
          "\\(is PostgreSQL running and reachable there\\?\\)\\n$",
      ),
    );

    const db = await database();
    const missing = new URL(db.url);
    missing.pathname = "/no_such_database";
    const absent = await runCli(["serve", "--listen", "127.0.0.1:0", "--db", missing.toString()]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toBe(
      `supervisor: cannot open the database ${missing}: ` +
        'database "no_such_database" does not exist (create it first with createdb, or name another database in the URL)\n',
    );
  });
});
