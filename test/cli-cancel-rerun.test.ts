import { SupervisorClient, subprocess, TaskPhase } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let client: SupervisorClient;
let runner: RunnerProcess;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  server = await startTestServer();
  client = new SupervisorClient({ address: server.address });
  runner = await startRunner(server.address, "cli-rerun-runner", { labels: { pool: "cli-rerun" } });
  env = { SUPERVISOR_ADDR: server.address, NO_COLOR: "1" };
});
afterAll(async () => {
  await runner?.stop("SIGKILL");
  client?.close();
  await server?.close();
});

const cli = (...args: string[]) => runCli(args, { env });
/** Stays PENDING: no runner matches it. */
const waiting = (labels: Record<string, string>) =>
  client.submit(subprocess("true", [], { labels, runnerSelector: "pool=nobody" }));
const phaseOf = async (id: string) => (await client.get(id)).status!.phase;

describe("supervisor cancel with a filter", () => {
  it("--dry-run lists and counts what it would cancel, and cancels nothing", async () => {
    const tasks = [await waiting({ cli: "dry" }), await waiting({ cli: "dry" })];
    const dry = await cli("cancel", "-l", "cli=dry", "--dry-run");
    expect(dry.code).toBe(0);
    const lines = dry.stdout.trim().split("\n");
    expect(lines.at(-1)).toBe("would cancel 2 tasks (dry run: nothing changed)");
    expect(lines.slice(0, -1).sort()).toEqual(tasks.map((task) => task.id).sort());
    for (const task of tasks) expect(await phaseOf(task.id)).toBe(TaskPhase.TASK_PHASE_PENDING);
  });

  it("without --yes (and not a dry run) it is a usage error (exit 2) and cancels nothing", async () => {
    const task = await waiting({ cli: "unsure" });
    const refused = await cli("cancel", "-l", "cli=unsure");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("a bulk cancel needs --yes to go ahead (or --dry-run");
    expect(await phaseOf(task.id)).toBe(TaskPhase.TASK_PHASE_PENDING);
  });

  it("--yes cancels the matching active tasks and prints the count; --slot and --phase narrow it", async () => {
    const tasks = [await waiting({ cli: "yes" }), await waiting({ cli: "yes" })];
    const other = await waiting({ cli: "kept" });
    const done = await cli("cancel", "-l", "cli=yes", "--phase", "pending", "--yes", "--reason", "cleanup");
    expect(done.code).toBe(0);
    expect(done.stdout.trim().split("\n").at(-1)).toBe("canceled 2 tasks; running ones stop as their runners end them");
    for (const task of tasks) {
      expect((await client.get(task.id)).status).toMatchObject({
        phase: TaskPhase.TASK_PHASE_CANCELED,
        message: "cleanup",
      });
    }
    expect(await phaseOf(other.id)).toBe(TaskPhase.TASK_PHASE_PENDING);
    const json = await cli("cancel", "--slot", "no-such-slot", "--yes", "--json");
    expect(JSON.parse(json.stdout)).toEqual({}); // proto JSON leaves zeros out: nothing matched
  });

  it("usage errors (exit 2): no id nor filter, both, --yes with an id, a selector that does not parse", async () => {
    const cases = [
      [["cancel"], "give a task id, or a filter"],
      [["cancel", "0190c5e2", "-l", "a=b", "--yes"], "not both"],
      [["cancel", "0190c5e2", "--yes"], "--dry-run and --yes go with a filter"],
      [["cancel", "-l", "a in (", "--dry-run"], "-l, --selector"],
    ] as const;
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect({ code: result.code, said: result.stderr.includes(message) }, args.join(" ")).toEqual({
        code: 2,
        said: true,
      });
    }
  });
});

describe("supervisor rerun", () => {
  it("prints the new task's id; get shows what it reruns; --wait exits with its exit code", async () => {
    const spec = subprocess("sh", ["-c", "echo rerun-out; exit 3"], { runnerSelector: "pool=cli-rerun" });
    const original = await waitForTask(server.tasks, (await client.submit(spec)).id);
    expect(original.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);

    const rerun = await cli("rerun", original.id);
    expect(rerun.code).toBe(0);
    const id = rerun.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(id).not.toBe(original.id);
    const shown = await cli("get", id);
    expect(shown.stdout).toContain(`rerun of:  ${original.id}`);

    const waited = await cli("rerun", "--wait", original.id);
    expect(waited.code).toBe(3);
    expect(waited.stdout).toBe("rerun-out\n");
  });

  it("of a task still active: exit 1 with the reason", async () => {
    const task = await waiting({ cli: "active" });
    const refused = await cli("rerun", task.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("FAILED_PRECONDITION (TASK_ACTIVE)");
  });
});
