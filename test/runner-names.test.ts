import { Metadata, status } from "@grpc/grpc-js";
import { type ConnectResponse, ErrorReason, TaskPhase } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { hello, type RawRunner, rawRunner } from "./helpers/raw-runner.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const welcomeOf = (message: ConnectResponse) => {
  expect(message.message?.$case).toBe("welcome");
  return (message.message as { value: { runnerId: string } }).value;
};
const failure = (runner: RawRunner) =>
  runner.ended.then((error) => Promise.reject(error ?? new Error("ended cleanly")));

describe("runner names", () => {
  it("a second live runner with a taken name is refused (ALREADY_EXISTS / RUNNER_NAME_IN_USE); the holder keeps it", async () => {
    server = await startTestServer({ heartbeatInterval: "5s", leaseTtl: "15s" });
    const holder = rawRunner(server.runners);
    holder.send(hello("twin", { instanceId: "first-process" }));
    const { runnerId } = welcomeOf(await holder.next());

    const newcomer = rawRunner(server.runners);
    newcomer.send(hello("twin", { instanceId: "second-process" }));
    const refused = await expectError(failure(newcomer), status.ALREADY_EXISTS, ErrorReason.RUNNER_NAME_IN_USE);
    expect(refused.metadata).toMatchObject({ runner_name: "twin" });

    // The holder is undisturbed: it still gets work.
    await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true", [])));
    const next = await holder.next();
    expect(next.message?.$case).toBe("assign");
    const [listed] = (await call(rpc(server.runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "" }))
      .runners;
    expect(listed).toMatchObject({ id: runnerId, name: "twin" });
    holder.stream.end();
  });

  it("the same runner process reconnecting replaces its own stale stream (UNAVAILABLE / RUNNER_RECONNECTED)", async () => {
    server = await startTestServer({ heartbeatInterval: "5s", leaseTtl: "15s" });
    const stale = rawRunner(server.runners);
    stale.send(hello("phoenix", { instanceId: "process-a" }));
    const first = welcomeOf(await stale.next());
    const fresh = rawRunner(server.runners);
    fresh.send(hello("phoenix", { instanceId: "process-a" }));
    const second = welcomeOf(await fresh.next());
    expect(second.runnerId).toBe(first.runnerId);
    await expectError(failure(stale), status.UNAVAILABLE, ErrorReason.RUNNER_RECONNECTED);
    fresh.stream.end();
  });

  it("a holder gone silent is replaced by a newcomer (the old stream: ABORTED / RUNNER_REPLACED), keeping the id", async () => {
    server = await startTestServer({ heartbeatInterval: "100ms", leaseTtl: "30s" });
    const silent = rawRunner(server.runners);
    silent.send(hello("quiet", { instanceId: "old" }));
    const { runnerId } = welcomeOf(await silent.next());
    // The holder sends nothing more. A newcomer is refused while the holder still counts as alive
    // (heard within two heartbeat intervals), then accepted: try until it is, within a bound.
    const s = server;
    const newcomer = await waitUntil(
      async () => {
        const candidate = rawRunner(s.runners);
        candidate.send(hello("quiet", { instanceId: "new" }));
        const first = await Promise.race([candidate.next(), candidate.ended.then(() => undefined)]);
        return first?.message?.$case === "welcome" ? candidate : undefined;
      },
      "a newcomer to be welcomed",
      10_000,
    ).catch(() => undefined);
    expect(newcomer, "the newcomer should take over a silent name").toBeDefined();
    await expectError(failure(silent), status.ABORTED, ErrorReason.RUNNER_REPLACED);
    newcomer!.stream.end();
    const [listed] = (await call(rpc(server.runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "" }))
      .runners;
    expect(listed!.id).toBe(runnerId);
  });

  it("two `supervisor runner` processes with one name: the second stops with a clear message and exit 1; a crashed holder's restart is back at once", async () => {
    server = await startTestServer();
    const holder = await startRunner(server.address, "shared-name");
    let restarted: RunnerProcess | undefined;
    try {
      const second = await runCli(["runner", "--addr", server.address, "--name", "shared-name"]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/runner name shared-name is in use by a live runner/);
      expect(second.stderr.trim().split("\n")).toHaveLength(1);

      // The holder still runs work.
      const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("echo", ["still"])));
      expect((await waitForTask(server.tasks, task!.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);

      // A crash closes its connection: a restart under the same name is welcomed straight away.
      await holder.stop("SIGKILL");
      restarted = await startRunner(server.address, "shared-name");
      expect(restarted.id).toBe(holder.id);
      await restarted.stop();
    } finally {
      await restarted?.stop("SIGKILL");
      await holder.stop("SIGKILL");
    }
  });

  it("a runner token bound to name patterns connects only those names (PERMISSION_DENIED / RUNNER_NAME_FORBIDDEN)", async () => {
    const token = "runner-token-0123456789abcdef";
    server = await startTestServer({
      tokens: JSON.stringify([
        { name: "builders", role: "runner", token, runnerNames: ["build-*", "ci-?"] },
        { name: "ops", role: "operator", token: "operator-token-0123456789ab" },
      ]),
    });
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);

    const forbidden = rawRunner(server.runners, metadata);
    forbidden.send(hello("deploy-1"));
    const error = await expectError(failure(forbidden), status.PERMISSION_DENIED, ErrorReason.RUNNER_NAME_FORBIDDEN);
    expect(error.metadata).toMatchObject({ runner_name: "deploy-1" });

    for (const name of ["build-7", "ci-a"]) {
      const allowed = rawRunner(server.runners, metadata);
      allowed.send(hello(name));
      welcomeOf(await allowed.next());
      allowed.stream.end();
    }

    // The CLI says so and stops (exit 1) instead of retrying forever.
    const cli = await runCli(["runner", "--addr", server.address, "--name", "deploy-2", "--token", token]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/may not connect a runner named deploy-2/);
  });
});
