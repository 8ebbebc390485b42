import { credentials } from "@grpc/grpc-js";
import { TaskPhase, TaskReason, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { startRunner, waitForTask } from "./helpers/runners.js";
import { tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

describe("delays past setTimeout's 24.8-day limit", () => {
  it("a task with not_before 30 days ahead waits quietly; others run; no timer overflows", async () => {
    const serve = await startCli(
      ["serve", "--listen", "127.0.0.1:0", "--db", await storeForTest(tempDir(), "later.db")],
      /serving on (\S+)/,
    );
    const address = serve.match[1]!;
    let runner: Awaited<ReturnType<typeof startRunner>> | undefined;
    const client = new TaskServiceClient(address, credentials.createInsecure());
    try {
      runner = await startRunner(address, "patient");
      const later = new Date(Date.now() + 30 * 86_400_000);
      const { task: waiting } = await call(
        rpc(client, "submitTask"),
        submitRequest(subprocessSpec("echo", ["a month later"], { notBefore: later })),
      );
      expect(waiting!.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, reason: TaskReason.NOT_BEFORE });
      // Work submitted after it still runs: the dispatcher is not stuck on (or spinning for) the far one.
      for (let i = 0; i < 3; i++) {
        const { task } = await call(rpc(client, "submitTask"), submitRequest(subprocessSpec("echo", [`now ${i}`])));
        expect((await waitForTask(client, task!.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
      }
      const still = (await call(rpc(client, "getTask"), { id: waiting!.id })).task!;
      expect(still.status).toMatchObject({
        phase: TaskPhase.TASK_PHASE_PENDING,
        reason: TaskReason.NOT_BEFORE,
        attempt: 0,
      });
      // Node warns once when a timer overflows (and then fires it every millisecond): it must never warn.
      expect(serve.output()).not.toContain("TimeoutOverflowWarning");
    } finally {
      client.close();
      await runner?.stop();
      await stopChild(serve.child);
    }
  });
});
