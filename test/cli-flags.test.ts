import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultOf } from "../server/src/commands/config-options.js";
import { CONFIG_KEYS, describeKey, flagName } from "../server/src/config.js";
import { CLI_PATH, runCli } from "./helpers/cli.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer;
let runner: RunnerProcess;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  // A small output cap (to see truncation) and a short lease (to see a runner go DISCONNECTED).
  server = await startTestServer({ outputCapBytes: 4096, heartbeatInterval: "100ms", leaseTtl: "500ms" });
  runner = await startRunner(server.address, "flags-runner", { labels: { team: "flags" }, capacity: 4 });
  env = { SUPERVISOR_ADDR: server.address, NO_COLOR: "1" };
});
afterAll(async () => {
  await runner.stop();
  await server.close();
});

const cli = (...args: string[]) => runCli(args, { env });
const submitAndWait = async (...command: string[]) => {
  const id = (await cli("submit", "--", ...command)).stdout.trim();
  await waitForTask(server.tasks, id);
  return id;
};

/** A long-running CLI process whose output the test reads as it comes. */
function spawnCli(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return { child, stdout: () => stdout, stderr: () => stderr };
}
const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code)),
  );

describe("logs", () => {
  it("--json prints one canonical JSON object per event: chunks with seq, stream, time, offset, data", async () => {
    const id = await submitAndWait("sh", "-c", "echo one; echo two >&2");
    const result = await cli("logs", "--json", id);
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const chunks = events.filter((e) => e.chunk).map((e) => e.chunk);
    expect(chunks.map((c) => [c.stream, Buffer.from(c.data, "base64").toString()])).toEqual([
      ["OUTPUT_STREAM_STDOUT", "one\n"],
      ["OUTPUT_STREAM_STDERR", "two\n"],
    ]);
    for (const chunk of chunks) {
      expect(chunk.seq).toMatch(/^\d+$/);
      expect(new Date(chunk.time).getTime()).toBeGreaterThan(0);
    }
    expect(chunks[1].offset).toBe("4");
  });

  it("--json includes the truncated event when the output cap dropped bytes", async () => {
    const id = await submitAndWait("sh", "-c", "head -c 20000 /dev/zero | tr '\\0' a");
    const events = (await cli("logs", "--json", id)).stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const truncated = events.find((e) => e.truncated);
    expect(Number(truncated.truncated.droppedBytes)).toBeGreaterThan(0);
  });

  it("--timestamps starts every line with its RFC 3339 time", async () => {
    const id = await submitAndWait("sh", "-c", "printf 'a\\nb\\n'");
    const result = await cli("logs", "--timestamps", id);
    expect(result.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z a\n\d{4}-\d\d-\d\dT\S+ b\n$/);
  });

  it("--tail n prints the last n lines; --since leaves out older output", async () => {
    const id = await submitAndWait("sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done");
    expect((await cli("logs", "--tail", "2", id)).stdout).toBe("line4\nline5\n");
    expect((await cli("logs", "--tail", "0", id)).stdout).toBe("");
    expect((await cli("logs", "--since", "1h", id)).stdout).toBe("line1\nline2\nline3\nline4\nline5\n");
    expect((await cli("logs", "--since", "2999-01-01T00:00:00Z", id)).stdout).toBe("");
  });
});

describe("list", () => {
  it("-o wide adds runner, priority, next try and labels", async () => {
    await submitAndWait("true");
    const wide = await cli("list", "-o", "wide", "--limit", "1");
    expect(wide.stdout.split("\n")[0]).toMatch(
      /^ID\s+PHASE\s+REASON\s+ATTEMPT\s+SLOT\s+AGE\s+RUNNER\s+PRIORITY\s+NEXT TRY/,
    );
    expect(wide.stdout).toContain(runner.id);
  });

  it("-w lists, then prints each change as a row in the same table, until Ctrl-C (exit 130)", async () => {
    const before = await submitAndWait("true");
    const watch = spawnCli(["list", "-w", "-l", "lw=yes"]);
    await waitUntil(() => watch.stdout().startsWith("ID"), "the table header");
    const id = (await cli("submit", "--label", "lw=yes", "--", "true")).stdout.trim();
    await waitUntil(() => new RegExp(`${id}\\s+SUCCEEDED`).test(watch.stdout()), "the SUCCEEDED row");
    watch.child.kill("SIGINT");
    expect(await exitOf(watch.child)).toBe(130);
    expect(watch.stdout()).not.toContain(before); // outside the selector
    expect(watch.stdout().match(/^ID\s/gm)).toHaveLength(1); // one header
  });
});

describe("short task ids", () => {
  it("get, logs and cancel take a unique prefix; none is NOT_FOUND; two or more is ambiguous (exit 1)", async () => {
    const id = await submitAndWait("echo", "prefixed");
    const prefix = id.slice(0, 34);
    expect((await cli("get", prefix)).stdout).toContain(`id:        ${id}`);
    expect((await cli("logs", prefix.toUpperCase())).stdout).toBe("prefixed\n");
    const none = await cli("get", "ffff");
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("supervisor: NOT_FOUND (TASK_NOT_FOUND): no task id starts with ffff\n");
    // Every id made now starts with "0" (UUIDv7: the time comes first).
    const ambiguous = await cli("cancel", "0");
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/^supervisor: ambiguous prefix 0: 2\+ tasks match/);
  });
});

describe("runners", () => {
  it("undrain lifts a drain; runners rm forgets a disconnected runner and refuses a connected one", async () => {
    const extra = await startRunner(server.address, "flags-extra");
    expect(await cli("drain", "flags-extra")).toMatchObject({ code: 0, stdout: "flags-extra DRAINING\n" });
    expect(await cli("undrain", "flags-extra")).toMatchObject({ code: 0, stdout: "flags-extra CONNECTED\n" });
    const refused = await cli("runners", "rm", extra.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("supervisor: FAILED_PRECONDITION (RUNNER_CONNECTED): runner flags-extra");
    await extra.stop();
    await waitUntil(
      async () => /flags-extra\s+DISCONNECTED/.test((await cli("runners")).stdout),
      "the runner to be DISCONNECTED",
    );
    expect(await cli("runners", "rm", "flags-extra")).toMatchObject({ code: 0, stdout: "flags-extra forgotten\n" });
    expect((await cli("runners")).stdout).not.toContain("flags-extra");
    const gone = await cli("runners", "rm", "flags-extra");
    expect(gone).toMatchObject({ code: 1, stderr: expect.stringContaining('no runner named "flags-extra"') });
  });
});

describe("submit", () => {
  it("--delay and --not-before set not_before; --max-attempts alone means on-failure", async () => {
    const delayed = JSON.parse((await cli("submit", "--json", "--delay", "1h", "--", "true")).stdout);
    const lag = new Date(delayed.spec.notBefore).getTime() - Date.now();
    expect(lag).toBeGreaterThan(50 * 60_000);
    expect(lag).toBeLessThanOrEqual(3_600_000);
    const at = "2030-01-02T03:04:05Z";
    const pinned = JSON.parse((await cli("submit", "--json", "--not-before", at, "--", "true")).stdout);
    expect(pinned.spec.notBefore).toBe(at);
    expect(pinned.status.reason).toBe("NOT_BEFORE");
    const retried = JSON.parse((await cli("submit", "--json", "--max-attempts", "2", "--", "true")).stdout);
    expect(retried.spec).toMatchObject({ restart: "RESTART_POLICY_ON_FAILURE", maxAttempts: 2 });
    for (const task of [delayed, pinned]) await cli("cancel", task.id);
  });

  it("Ctrl-C on --wait says the task is still running and how to cancel it (exit 130)", async () => {
    const waiting = spawnCli(["submit", "--wait", "--", "sh", "-c", "echo ready; exec sleep 60"]);
    await waitUntil(() => waiting.stdout().includes("ready"), "the task to print ready");
    waiting.child.kill("SIGINT");
    expect(await exitOf(waiting.child)).toBe(130);
    const id = /task (\S+) is still RUNNING/.exec(waiting.stderr())?.[1];
    expect(id, waiting.stderr()).toBeDefined();
    expect(waiting.stderr()).toContain(`(cancel it with \`supervisor cancel ${id}\`)`);
    expect((await cli("cancel", id!)).code).toBe(0);
  });
});

describe("serve --help", () => {
  it("shows every setting with its default (from the config schema) and its environment variable", async () => {
    const help = (await runCli(["serve", "--help"])).stdout.replace(/\s+/g, " ");
    for (const key of CONFIG_KEYS) {
      const fallback = defaultOf(key);
      const shown = typeof fallback === "string" ? fallback : JSON.stringify(fallback);
      expect(help).toContain(`${flagName(key)} <value>`);
      expect(help).toContain(describeKey(key).replace(/\s+/g, " "));
      if (fallback !== undefined) expect(help, key).toContain(`(default: ${shown}, env: SUPERVISOR_`);
    }
    expect(help).toContain("--lease-ttl <value> a runner silent this long");
    expect(help).toContain("(default: 15s, env: SUPERVISOR_LEASE_TTL)");
    const dev = (await runCli(["dev", "--help"])).stdout.replace(/\s+/g, " ");
    expect(dev).toContain("(default: .supervisor/dev.db, env: SUPERVISOR_DB)");
    expect(dev).toContain("--capacity <n> runs at once on the local runner (default: 4)");
  });
});
