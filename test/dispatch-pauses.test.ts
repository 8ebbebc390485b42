import { status } from "@grpc/grpc-js";
import { ErrorReason, SupervisorClient, subprocess, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { expectError } from "./helpers/grpc.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let client: SupervisorClient;
let runner: RunnerProcess;

const connect = () => {
  client?.close();
  client = new SupervisorClient({ address: server.address });
};

beforeAll(async () => {
  server = await startTestServer();
  connect();
  runner = await startRunner(server.address, "pauses", { capacity: 8 });
}, 60_000);

afterAll(async () => {
  client?.close();
  await runner?.stop();
  await server?.close();
});

const paused = (task: Task) => task.status!.reason === TaskReason.DISPATCH_PAUSED;
const succeeded = (task: Task) => task.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED;

/** A matching task stays PENDING DISPATCH_PAUSED while an unmatched one runs; resume lets it run. */
async function holdsThenReleases(
  pauseId: string,
  target: { slot: string } | { concurrencyKey: string } | { labelSelector: string },
  held: ReturnType<typeof subprocess>,
  free: ReturnType<typeof subprocess>,
): Promise<void> {
  await client.dispatch.pause({ id: pauseId, note: "maintenance", ...target });
  const heldTask = await client.submit(held);
  const freeTask = await client.submit(free);
  expect(succeeded(await waitForTask(server.tasks, freeTask.id))).toBe(true);
  const waiting = await waitForTask(server.tasks, heldTask.id, paused);
  expect(waiting.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
  expect(waiting.status!.message).toContain(`dispatch paused by ${pauseId}`);
  expect(waiting.status!.message).toContain("maintenance");
  await client.dispatch.resume(pauseId);
  expect(succeeded(await waitForTask(server.tasks, heldTask.id))).toBe(true);
}

describe("dispatch pauses", () => {
  it("a pause by slot holds that slot's tasks; others run; resume releases them", { timeout: 60_000 }, async () => {
    await holdsThenReleases(
      "by-slot",
      { slot: "nightly" },
      subprocess("true", [], { slot: "nightly" }),
      subprocess("true", [], { slot: "hourly" }),
    );
    expect(await client.dispatch.list()).toEqual([]);
  });

  it("a pause by concurrency key holds the tasks holding that key", { timeout: 60_000 }, async () => {
    await holdsThenReleases(
      "by-key",
      { concurrencyKey: "tenant-a" },
      subprocess("true", [], {
        labels: { tenant: "a" },
        concurrency: [{ key: "tenant-{labels.tenant}", maxRunning: 5 }],
      }),
      subprocess("true", [], {
        labels: { tenant: "b" },
        concurrency: [{ key: "tenant-{labels.tenant}", maxRunning: 5 }],
      }),
    );
  });

  it("a pause by label selector holds the tasks whose labels match", { timeout: 60_000 }, async () => {
    await holdsThenReleases(
      "by-labels",
      { labelSelector: "tier=batch" },
      subprocess("true", [], { labels: { tier: "batch" } }),
      subprocess("true", [], { labels: { tier: "web" } }),
    );
  });

  it("lists pauses by id, with their target, note and create time", async () => {
    await client.dispatch.pause({ id: "list-b", slot: "s" });
    await client.dispatch.pause({ id: "list-a", labelSelector: "x in (1,2)", note: "why" });
    const pauses = await client.dispatch.list();
    expect(pauses.map((pause) => pause.id)).toEqual(["list-a", "list-b"]);
    expect(pauses[0]).toMatchObject({ target: { $case: "labelSelector", value: "x in (1,2)" }, note: "why" });
    expect(pauses[0]!.createTime).toBeInstanceOf(Date);
    await client.dispatch.resume("list-a");
    await client.dispatch.resume("list-b");
  });

  it("a pause survives a restart and still holds its tasks", { timeout: 60_000 }, async () => {
    await client.dispatch.pause({ id: "durable", slot: "durable-slot" });
    const task = await client.submit(subprocess("true", [], { slot: "durable-slot" }));
    await waitForTask(server.tasks, task.id, paused);
    await runner.stop();
    await server.restart();
    connect();
    runner = await startRunner(server.address, "pauses", { capacity: 8 });
    expect((await client.dispatch.list()).map((pause) => pause.id)).toEqual(["durable"]);
    // Another task runs on the restarted server, so dispatch is on; the paused one is still held.
    const other = await client.submit(subprocess("true"));
    expect(succeeded(await waitForTask(server.tasks, other.id))).toBe(true);
    expect((await client.get(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await client.dispatch.resume("durable");
    expect(succeeded(await waitForTask(server.tasks, task.id))).toBe(true);
  });
});

describe("the CLI: pause, pauses, resume, submit --concurrency", () => {
  it("pauses a key, lists it, submits a task holding it (held), resumes it (runs)", { timeout: 60_000 }, async () => {
    // --addr right after the command word: never after "--", where it would be the program's.
    const cli = (word: string, ...args: string[]) => runCli([word, "--addr", server.address, ...args]);
    const paused = await cli("pause", "cli-pause", "--key", "tenant-c", "--note", "vendor down");
    expect(paused).toMatchObject({ code: 0, stdout: "paused cli-pause\n" });
    const listed = await cli("pauses");
    expect(listed.stdout).toMatch(/^ID\s+KIND\s+TARGET\s+AGE\s+NOTE\n/);
    expect(listed.stdout).toMatch(/cli-pause\s+key\s+tenant-c\s+\S+\s+vendor down/);
    const submitted = await cli(
      "submit",
      "--label",
      "tenant=c",
      "--concurrency",
      "tenant-{labels.tenant}=3",
      "--json",
      "--",
      "true",
    );
    expect(submitted.code).toBe(0);
    const task = JSON.parse(submitted.stdout) as { id: string; spec: { concurrency: unknown } };
    expect(task.spec.concurrency).toEqual([{ key: "tenant-c", maxRunning: 3 }]);
    const held = await waitForTask(server.tasks, task.id, (t) => t.status!.reason === TaskReason.DISPATCH_PAUSED);
    expect(held.status!.message).toBe("dispatch paused by cli-pause (concurrency key tenant-c): vendor down");
    expect(await cli("resume", "cli-pause")).toMatchObject({ code: 0, stdout: "resumed cli-pause\n" });
    expect(succeeded(await waitForTask(server.tasks, task.id))).toBe(true);
    const twoTargets = await cli("pause", "x", "--slot", "a", "--key", "b");
    expect(twoTargets.code).toBe(2);
    expect(twoTargets.stderr).toContain("exactly one of --slot, --key, -l/--selector");
  });
});

describe("dispatch pauses: bad input", () => {
  const field = async (
    pause: Parameters<typeof client.dispatch.pause>[0],
    reason: string = ErrorReason.INVALID_REQUEST,
  ) => {
    const error = await expectError(client.dispatch.pause(pause), status.INVALID_ARGUMENT, reason);
    return error.fieldViolations.map((violation) => violation.field);
  };

  it("an id that is no DNS label", async () => {
    expect(await field({ id: "Not_A_Label", slot: "s" })).toEqual(["pause.id"]);
    expect(await field({ id: "", slot: "s" })).toEqual(["pause.id"]);
  });

  it("no target, or a bad one", async () => {
    expect(await field({ id: "p", target: undefined })).toEqual(["pause.target"]);
    expect(await field({ id: "p", slot: "a b" })).toEqual(["pause.slot"]);
    expect(await field({ id: "p", concurrencyKey: "" })).toEqual(["pause.concurrency_key"]);
    expect(await field({ id: "p", labelSelector: "" })).toEqual(["pause.label_selector"]);
    expect(await field({ id: "p", labelSelector: "a in (" }, ErrorReason.LABEL_SELECTOR_INVALID)).toEqual([
      "pause.label_selector",
    ]);
  });

  it("a note too long", async () => {
    expect(await field({ id: "p", slot: "s", note: "x".repeat(1025) })).toEqual(["pause.note"]);
  });

  it("an id taken: ALREADY_EXISTS DISPATCH_PAUSE_EXISTS", async () => {
    await client.dispatch.pause({ id: "taken", slot: "s" });
    await expectError(
      client.dispatch.pause({ id: "taken", slot: "t" }),
      status.ALREADY_EXISTS,
      ErrorReason.DISPATCH_PAUSE_EXISTS,
    );
    await client.dispatch.resume("taken");
  });

  it("resuming an unknown pause: NOT_FOUND DISPATCH_PAUSE_NOT_FOUND", async () => {
    await expectError(client.dispatch.resume("never-made"), status.NOT_FOUND, ErrorReason.DISPATCH_PAUSE_NOT_FOUND);
    await expectError(client.dispatch.resume("Bad_Id"), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
  });
});

describe("dispatch pauses: roles", () => {
  it("only an operator may pause and resume; a client and a readonly token may list", { timeout: 30_000 }, async () => {
    const tokens = [
      { name: "ops", role: "operator", token: "operator-token-0123456789" },
      { name: "app", role: "client", token: "client-token-0123456789" },
      { name: "viewer", role: "readonly", token: "readonly-token-0123456789" },
    ];
    const guarded = await startTestServer({ tokens: JSON.stringify(tokens) });
    const as = (token: string) => new SupervisorClient({ address: guarded.address, token });
    const [ops, app, viewer] = [as(tokens[0]!.token), as(tokens[1]!.token), as(tokens[2]!.token)];
    try {
      for (const caller of [app, viewer]) {
        await expectError(caller.dispatch.pause({ id: "p", slot: "s" }), status.PERMISSION_DENIED, "ROLE_FORBIDDEN");
      }
      await ops.dispatch.pause({ id: "p", slot: "s" });
      await expectError(app.dispatch.resume("p"), status.PERMISSION_DENIED, "ROLE_FORBIDDEN");
      expect((await app.dispatch.list()).map((pause) => pause.id)).toEqual(["p"]);
      expect((await viewer.dispatch.list()).map((pause) => pause.id)).toEqual(["p"]);
      await ops.dispatch.resume("p");
    } finally {
      for (const caller of [ops, app, viewer]) caller.close();
      await guarded.close();
    }
  });
});
