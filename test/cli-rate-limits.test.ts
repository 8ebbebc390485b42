import { TaskReason } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

// The CLI side of rate limits: `submit --rate-limit` (as `--concurrency`), and `get` showing deferred runs.

let server: TestServer;
let runner: RunnerProcess;

beforeAll(async () => {
  server = await startTestServer({ rateLimits: JSON.stringify({ "server-key": { perSecond: 5 } }) });
  runner = await startRunner(server.address, "cli-rates", { kinds: "subprocess" });
}, 60_000);
afterAll(async () => {
  await runner?.stop();
  await server?.close();
});

// --addr right after the command word: never after "--", where it would be the program's.
const cli = (word: string, ...args: string[]) => runCli([word, "--addr", server.address, ...args]);

describe("supervisor submit --rate-limit", () => {
  it("takes key=N/s[:burst] or key=N/min[:burst] (templated), or a key alone for the server's rate", async () => {
    const submitted = await cli(
      "submit",
      "--label",
      "tenant=acme",
      "--rate-limit",
      "vendor=10/s:20",
      "--rate-limit",
      "tenant-{labels.tenant}=1.5/min",
      "--rate-limit",
      "server-key",
      "--json",
      "--",
      "true",
    );
    expect(submitted.code).toBe(0);
    const task = JSON.parse(submitted.stdout) as { spec: { rateLimits: unknown } };
    expect(task.spec.rateLimits).toEqual([
      { key: "vendor", perSecond: 10, burst: 20 },
      { key: "tenant-acme", perMinute: 1.5 },
      { key: "server-key" },
    ]);
  });

  it.each(["vendor=10", "vendor=0/s", "vendor=10/h", "=5/s", "vendor=10/s:0", "vendor=10/s:x"])(
    "refuses %j as a usage mistake (exit 2), before any call",
    async (flag) => {
      const refused = await cli("submit", "--rate-limit", flag, "--", "true");
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("--rate-limit");
    },
  );
});

describe("supervisor get: deferred runs", () => {
  it("shows a run a retry-after ended as deferred, and the task's count of them", { timeout: 60_000 }, async () => {
    const script = 'echo "retry-after 90" > "$SUPERVISOR_RETRY_AFTER_FILE"; exit 1';
    const submitted = await cli("submit", "--json", "--", "sh", "-c", script);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    await waitForTask(server.tasks, id, (task) => task.status!.reason === TaskReason.RETRY_AFTER);
    const shown = await cli("get", id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      "reason:    RETRY_AFTER — attempt 1 deferred: the downstream asked to retry after 90s",
    );
    expect(shown.stdout).toContain(
      "deferred:  1 attempt (retry-after: not failures, not counted against max attempts)",
    );
    expect(shown.stdout).toMatch(/\n1\s+\S+\s+DEFERRED \(retry after 90s\)\s+1\s+cli-rates\s/);
    await cli("cancel", id);
  });
});
