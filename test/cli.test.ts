import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeOn } from "./helpers/backend.js";
import { CLI_PATH, runCli, startCli, stopChild } from "./helpers/cli.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";

let server: TestServer;
let runner: RunnerProcess;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  server = await startTestServer();
  runner = await startRunner(server.address, "cli-runner", { labels: { team: "cli" }, capacity: 4 });
  env = { SUPERVISOR_ADDR: server.address, NO_COLOR: "1" };
});
afterAll(async () => {
  await runner.stop();
  await server.close();
});

const cli = (...args: string[]) => runCli(args, { env });

describe("supervisor CLI", () => {
  it("submit prints the task id; --json prints the task", async () => {
    const plain = await cli("submit", "--label", "cli=plain", "--", "echo", "hi");
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    const asJson = await cli("submit", "--json", "--slot", "cli-json", "--timeout", "5s", "--", "echo", "hi");
    const task = JSON.parse(asJson.stdout);
    expect(task.spec).toMatchObject({
      slot: "cli-json",
      timeout: "5s",
      trigger: "TRIGGER_CLI",
      subprocess: { command: "echo", args: ["hi"] },
    });
  });

  it("submit --wait prints the output and exits with the task's exit code", async () => {
    const ok = await cli("submit", "--wait", "--", "echo", "hello");
    expect(ok).toMatchObject({ code: 0, stdout: "hello\n" });
    const failing = await cli("submit", "--wait", "--", "sh", "-c", "echo out; echo err >&2; exit 3");
    expect(failing.code).toBe(3);
    expect(failing.stdout).toBe("out\n");
    expect(failing.stderr).toContain("err\n");
    expect(failing.stderr).toContain("FAILED: attempt 1 exited with code 3");
    const timedOut = await cli("submit", "--wait", "--timeout", "300ms", "--", "sleep", "10");
    expect(timedOut.code).toBe(124);
  });

  it("a refused submit exits 1 and says why", async () => {
    await cli("submit", "--slot", "cli-busy", "--", "sleep", "5");
    const busy = await cli("submit", "--slot", "cli-busy", "--", "true");
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("FAILED_PRECONDITION (SLOT_BUSY)");
    const bad = await cli("submit", "--label", "bad key=x", "--", "true");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("spec.labels:");
  });

  it("get shows the task and its runs; --json prints proto JSON", async () => {
    const waited = (await cli("submit", "--wait", "--json", "--", "echo", "x")).stdout.trim().split("\n");
    expect(waited[0]).toBe("x"); // the output first, then the task
    const { id: taskId } = JSON.parse(waited.at(-1)!);
    const text = await cli("get", taskId);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`id:        ${taskId}`);
    expect(text.stdout).toContain("phase:     SUCCEEDED");
    expect(text.stdout).toMatch(/ATTEMPT\s+RUN\s+PHASE\s+EXIT\s+RUNNER/);
    expect(text.stdout).toContain("cli-runner");
    expect(JSON.parse((await cli("get", taskId, "--json")).stdout).status.phase).toBe("TASK_PHASE_SUCCEEDED");
    const missing = await cli("get", "0190c5e2-7b1d-7c3a-8f00-0123456789ab");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NOT_FOUND (TASK_NOT_FOUND)");
  });

  it("list shows a table, filters, pages, and --json", async () => {
    for (let i = 0; i < 3; i++) await cli("submit", "--label", "cli=list", "--", "true");
    const table = await cli("list", "--selector", "cli=list");
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+PHASE\s+REASON\s+ATTEMPT\s+SLOT\s+AGE\s+COMMAND$/);
    expect(table.stdout.trim().split("\n")).toHaveLength(4);
    const firstPage = await cli("list", "--selector", "cli=list", "--limit", "2");
    expect(firstPage.stdout.trim().split("\n")).toHaveLength(3);
    expect(firstPage.stderr).toContain("more: --page-token");
    // --json: one ListTasksResponse per page, next_page_token and revision included.
    const all = await cli("list", "--selector", "cli=list", "--limit", "2", "--all", "--json");
    const pages = all.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(pages).toHaveLength(2);
    expect(pages[0].nextPageToken).toEqual(expect.any(String));
    expect(pages[1].nextPageToken).toBeUndefined(); // the last page: the proto JSON mapping omits ""
    expect(Number(pages[0].revision)).toBeGreaterThan(0);
    expect(pages.flatMap((page) => page.tasks.map((t: any) => t.spec.labels.cli))).toEqual(["list", "list", "list"]);
    const pending = await cli("list", "--phase", "running,pending", "--selector", "cli=list", "--json");
    expect(pending.code).toBe(0);
    expect((await cli("list", "--phase", "sideways")).code).toBe(2);
  });

  it("watch streams changes as they happen (--json), until interrupted", async () => {
    // From a revision read before the submit: the task's events come whenever the watch gets going.
    const since = JSON.parse((await cli("list", "--json", "--limit", "1")).stdout).revision;
    const id = (await cli("submit", "--label", "cli=watch", "--", "true")).stdout.trim();
    const child = spawn(process.execPath, [CLI_PATH, "watch", "--json", "--selector", "cli=watch", "--since", since], {
      env: { ...process.env, ...env },
    });
    const lines = createInterface({ input: child.stdout });
    const events: { type: string; task: { id: string; status: { phase: string } } }[] = [];
    const finished = new Promise<void>((resolve) =>
      lines.on("line", (line) => {
        events.push(JSON.parse(line));
        if (events.some((e) => e.task.status.phase === "TASK_PHASE_SUCCEEDED")) resolve();
      }),
    );
    await finished;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(events[0]).toMatchObject({ type: "EVENT_TYPE_ADDED", task: { id } });
    expect(events.map((e) => e.task.status.phase)).toContain("TASK_PHASE_RUNNING");
  });

  it("cancel stops a running task; logs prints output; logs -f follows it", async () => {
    const id = (await cli("submit", "--", "sleep", "30")).stdout.trim();
    await waitForTask(server.tasks, id, (t) => t.status!.reason === "STARTED");
    const canceled = await cli("cancel", id);
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).toMatch(new RegExp(`^${id} (RUNNING \\(stopping\\)|CANCELED)`));
    const chatty = (await cli("submit", "--", "sh", "-c", "echo one; echo two >&2")).stdout.trim();
    const followed = await cli("logs", "-f", chatty);
    expect(followed).toMatchObject({ code: 0, stdout: "one\n", stderr: "two\n" });
    expect((await cli("logs", chatty)).stdout).toBe("one\n");
  });

  it("runners lists runners; drain drains one", async () => {
    const listed = await cli("runners", "--selector", "team=cli");
    expect(listed.stdout).toMatch(/cli-runner\s+CONNECTED\s+\d+\/4\s+team=cli/);
    const extra = await startRunner(server.address, "cli-drainee");
    const drained = await cli("drain", extra.id);
    expect(drained).toMatchObject({ code: 0, stdout: "cli-drainee DRAINING\n" });
    expect(await cli("drain", "cli-drainee")).toMatchObject({ code: 0, stdout: "cli-drainee DRAINING\n" });
    const unknown = await cli("drain", "no-such-runner");
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('no runner named "no-such-runner"');
    await extra.stop();
    expect(
      (await cli("runners", "--json")).stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).name),
    ).toContain("cli-drainee");
  });

  it("usage mistakes exit 2; an unreachable server exits 69 with a hint", async () => {
    expect((await cli("submit", "--timeout", "soon", "--", "true")).code).toBe(2);
    const away = await runCli(["list"], { env: { SUPERVISOR_ADDR: "127.0.0.1:1" } });
    expect(away.code).toBe(69);
    expect(away.stderr).toContain("is the supervisor running?");
  });
});

// SQLite only: "zero configuration" is dev's default database, a SQLite file in .supervisor/. In the postgres
// project test/dev.test.ts runs dev on a PostgreSQL database, and test/postgres-server.test.ts names one by
// --db, SUPERVISOR_DB and the config file.
describeOn("sqlite")("supervisor dev (the README quick start)", () => {
  it("starts with zero configuration, and `submit --wait -- echo hello` prints hello", async () => {
    const cwd = tempDir("supervisor-dev-");
    const dev = await startCli(["dev", "--listen", "127.0.0.1:0"], /serving on (\S+)[\s\S]*Stop with Ctrl-C/, { cwd });
    try {
      // The hints follow --listen: here the port is not the default one.
      expect(dev.output()).toContain(`npx supervisor submit --addr ${dev.match[1]} --wait -- echo hello`);
      expect(dev.output()).toContain("db .supervisor/dev.db");
      const hello = await runCli(["submit", "--wait", "--", "echo", "hello"], {
        env: { SUPERVISOR_ADDR: dev.match[1]! },
      });
      expect(hello).toMatchObject({ code: 0, stdout: "hello\n" });
    } finally {
      expect(await stopChild(dev.child)).toBe(0);
    }
  });
});
