import { SupervisorClient, subprocess, TaskReason } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { type RunnerProcess, startRunner } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let client: SupervisorClient;
let runner: RunnerProcess;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  server = await startTestServer();
  client = new SupervisorClient({ address: server.address });
  runner = await startRunner(server.address, "cli-t4", { labels: { explain: "cli", gpu: "t4" } });
  env = { SUPERVISOR_ADDR: server.address, NO_COLOR: "1" };
});
afterAll(async () => {
  await runner?.stop("SIGKILL");
  client?.close();
  await server?.close();
});

const cli = (...args: string[]) => runCli(args, { env });

/** A task held twice over: no runner matches it, and a pause holds it. */
async function heldTwice() {
  await client.dispatch.pause({ id: "cli-pause", labelSelector: "cli-paused=yes", note: "maintenance" });
  return client.submit(
    subprocess("true", [], { labels: { "cli-paused": "yes" }, runnerSelector: "explain=cli,gpu=a100" }),
  );
}

describe("supervisor explain", () => {
  it("prints the task, each blocker and a runners table, as kubectl describe does", async () => {
    const task = await heldTwice();
    const explained = await cli("explain", task.id.slice(0, 30));
    expect(explained.stderr).toBe("");
    expect(explained.code).toBe(0);
    const lines = explained.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual([`id:        ${task.id}`, "phase:     PENDING"]);
    expect(lines[2]).toMatch(/^reason: {4}NO_MATCHING_RUNNER — /);
    expect(lines.slice(3)).toEqual([
      "command:   true",
      "waiting for:",
      "  NO_MATCHING_RUNNER  no connected runner matches; the closest, cli-t4, fails gpu=a100 (it has gpu=t4)",
      "  DISPATCH_PAUSED     dispatch paused by cli-pause (labels cli-paused=yes): maintenance",
      "runners:",
      "  NAME    MATCHES  FAILS     RUNNING/CAPACITY  DRAINING",
      "  cli-t4  no       gpu=a100  0/2               no",
      "",
    ]);
    const json = await cli("explain", task.id, "-o", "json");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.task.id).toBe(task.id);
    expect(parsed.blockers.map((blocker: { reason: string }) => blocker.reason)).toEqual([
      TaskReason.NO_MATCHING_RUNNER,
      TaskReason.DISPATCH_PAUSED,
    ]);
    expect(parsed.blockers[1].pauseId).toBe("cli-pause");
    expect(parsed.runners[0]).toMatchObject({ name: "cli-t4", failedRequirement: "gpu=a100", capacity: 2 });
    // --json is -o json (the task's stored message may have been rewritten in between: its blockers are not).
    expect(JSON.parse((await cli("explain", task.id, "--json")).stdout).blockers).toEqual(parsed.blockers);
    await client.cancel(task.id);
  });

  it("an unknown task exits 1 with TASK_NOT_FOUND; --json with -o text is a usage mistake (exit 2)", async () => {
    const unknown = await cli("explain", "0190c5e2-7b1d-7c3a-8f00-0123456789ab");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("NOT_FOUND (TASK_NOT_FOUND)");
    const both = await cli("explain", "0190c5e2-7b1d-7c3a-8f00-0123456789ab", "--json", "-o", "text");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--json and -o text ask for two formats");
  });

  it("an unreachable supervisor: exit 69 with the hint", async () => {
    const result = await runCli(["explain", "0190c5e2-7b1d-7c3a-8f00-0123456789ab"], {
      env: { SUPERVISOR_ADDR: "127.0.0.1:1" },
    });
    expect(result.code, result.stderr).toBe(69);
    expect(result.stderr).toContain("cannot reach the supervisor at 127.0.0.1:1");
  });
});
