import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import {
  RestartPolicy,
  RunPhase,
  type StreamTaskOutputResponse,
  TaskPhase,
  TaskReason,
  TaskServiceClient,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { fileGate } from "./helpers/gate.js";
import { call, rpc } from "./helpers/grpc.js";
import { freePort } from "./helpers/ports.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";
import { waitUntil } from "./helpers/wait.js";

async function serve(listen: string, db: string) {
  return (await startCli(["serve", "--listen", listen, "--db", db], /serving on/)).child;
}

async function outputOf(client: TaskServiceClient, taskId: string): Promise<StreamTaskOutputResponse[]> {
  const events: StreamTaskOutputResponse[] = [];
  for await (const event of messages(client.streamTaskOutput({ taskId, attempt: 0, follow: false, sinceSeq: 0 }))) {
    events.push(event);
  }
  return events;
}
const textOf = (events: StreamTaskOutputResponse[]) =>
  events.map((e) => (e.event?.$case === "chunk" ? e.event.value.data.toString() : "")).join("");

/**
 * The hand-off: a run that ends while the supervisor is away keeps its true
 * outcome, exit code and output. The command goes on only once the server is
 * down (a file gate) and writes a marker file as its last act, so the test
 * knows the run ended while the server was down.
 */
describe("runs that end while the supervisor is away", () => {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`keep their outcome and output across a ${signal} of the supervisor`, async () => {
      const dir = tempDir();
      const db = await storeForTest(dir, "handoff.db");
      const listen = `127.0.0.1:${await freePort()}`;
      let server = await serve(listen, db);
      let runner: RunnerProcess | undefined;
      const client = new TaskServiceClient(listen, credentials.createInsecure());
      try {
        runner = await startRunner(listen, `handoff-${signal}`);
        const serverDown = fileGate(dir, "server-down");
        const marker = join(dir, "ended");
        const succeeds = `${serverDown.wait}; echo finished-ok; echo to-stderr >&2; touch ${marker}`;
        const { task: ok } = await call(
          rpc(client, "submitTask"),
          submitRequest(subprocessSpec("sh", ["-c", succeeds])),
        );
        const failMarker = join(dir, "failed");
        const fails = `${serverDown.wait}; echo failing; touch ${failMarker}; exit 3`;
        const { task: bad } = await call(
          rpc(client, "submitTask"),
          submitRequest(subprocessSpec("sh", ["-c", fails], { restart: RestartPolicy.RESTART_POLICY_NEVER })),
        );
        for (const task of [ok!, bad!])
          await waitForTask(client, task.id, (t) => t.status!.reason === TaskReason.STARTED);
        await stopChild(server, signal);
        serverDown.open();
        await waitUntil(
          () => existsSync(marker) && existsSync(failMarker),
          "both runs to end while the server is away",
        );
        server = await serve(listen, db);

        const succeeded = await waitForTask(client, ok!.id);
        expect(succeeded.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, attempt: 1, exitCode: 0 });
        const failed = await waitForTask(client, bad!.id);
        expect(failed.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, attempt: 1, exitCode: 3 });
        const events = await outputOf(client, ok!.id);
        expect(textOf(events)).toBe("finished-ok\nto-stderr\n");
        expect(events.some((e) => e.event?.$case === "truncated")).toBe(false);
        const { runs } = await call(rpc(client, "listTaskRuns"), { taskId: ok!.id, pageSize: 0, pageToken: "" });
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ phase: RunPhase.RUN_PHASE_SUCCEEDED, exitCode: 0, outputBytes: 22 });
        expect(textOf(await outputOf(client, bad!.id))).toBe("failing\n");
      } finally {
        client.close();
        await runner?.stop("SIGKILL");
        await stopChild(server, "SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
