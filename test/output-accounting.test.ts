import { rmSync } from "node:fs";
import { credentials, status } from "@grpc/grpc-js";
import { ErrorReason, type StreamTaskOutputResponse, TaskPhase, TaskReason, TaskServiceClient } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { storeForTest } from "./helpers/backend.js";
import { startCli, stopChild } from "./helpers/cli.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { freePort } from "./helpers/ports.js";
import { faultSeed, prng } from "./helpers/prng.js";
import { hello, rawRunner } from "./helpers/raw-runner.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { messages } from "./helpers/streams.js";

const BATCHES = 40;
const LINES_PER_BATCH = 100_000;
/** What the flood command prints: `seq 1 N` in batches with a pause between them. */
const expectedOutput = () => {
  const lines: string[] = [];
  for (let i = 1; i <= BATCHES * LINES_PER_BATCH; i++) lines.push(String(i));
  return Buffer.from(`${lines.join("\n")}\n`);
};
const floodScript = `for i in $(seq 1 ${BATCHES}); do seq $(( (i-1)*${LINES_PER_BATCH}+1 )) $(( i*${LINES_PER_BATCH} )); sleep 0.05; done`;

describe("output accounting", () => {
  it("after SIGKILLs of the supervisor during a flood, every kept byte is where it belongs, every gap is marked, counts are true", {
    timeout: 180_000,
  }, async () => {
    const random = prng(faultSeed("output accounting"));
    const dir = tempDir();
    const db = await storeForTest(dir, "flood.db");
    const listen = `127.0.0.1:${await freePort()}`;
    const serve = () => startCli(["serve", "--listen", listen, "--db", db], /serving on/).then((s) => s.child);
    let server = await serve();
    let runner: RunnerProcess | undefined;
    const client = new TaskServiceClient(listen, credentials.createInsecure());
    try {
      runner = await startRunner(listen, "flooder");
      const { task } = await call(rpc(client, "submitTask"), submitRequest(subprocessSpec("sh", ["-c", floodScript])));
      await waitForTask(client, task!.id, (t) => t.status!.reason === TaskReason.STARTED);
      for (let kill = 0; kill < 3; kill++) {
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 500)); // scenario pause: a random moment of the flood
        await stopChild(server, "SIGKILL");
        server = await serve();
      }
      const done = await waitForTask(client, task!.id, undefined, 120_000);
      expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);

      const expected = expectedOutput();
      const events: StreamTaskOutputResponse[] = [];
      for await (const event of messages(
        client.streamTaskOutput({ taskId: task!.id, attempt: 0, follow: false, sinceSeq: 0 }),
      ))
        events.push(event);
      let end = 0;
      let kept = 0;
      let dropped = 0;
      let markedGap = 0;
      for (const event of events) {
        if (event.event?.$case === "truncated") {
          markedGap += event.event.value.droppedBytes;
          continue;
        }
        if (event.event?.$case !== "chunk") continue;
        const { offset, data } = event.event.value;
        // A jump in offsets must have been announced by a marker of exactly that size.
        expect(markedGap, `gap before offset ${offset}`).toBe(offset - end);
        dropped += markedGap;
        markedGap = 0;
        expect(data.equals(expected.subarray(offset, offset + data.length)), `bytes at offset ${offset}`).toBe(true);
        end = offset + data.length;
        kept += data.length;
      }
      dropped += markedGap; // a trailing gap
      expect(kept + dropped).toBe(expected.length);
      expect(kept).toBeLessThanOrEqual(1 << 20);
      const { runs } = await call(rpc(client, "listTaskRuns"), { taskId: task!.id, pageSize: 0, pageToken: "" });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ outputBytes: expected.length, outputTruncated: true });
    } finally {
      client.close();
      await runner?.stop("SIGKILL");
      await stopChild(server, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an output message over 64 KiB is a protocol violation (FAILED_PRECONDITION / RUNNER_PROTOCOL_VIOLATION)", async () => {
    const server = await startTestServer();
    try {
      const runner = rawRunner(server.runners);
      runner.send(hello("oversize"));
      await runner.next();
      await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true", [])));
      const assign = (await runner.next()).message as { value: { runId: string } };
      runner.send({
        $case: "output",
        value: { runId: assign.value.runId, stream: 1, data: Buffer.alloc(64 * 1024 + 1, 65), seq: 1, offset: 0 },
      });
      const error = await expectError(
        runner.ended.then((e) => Promise.reject(e)),
        status.FAILED_PRECONDITION,
        ErrorReason.RUNNER_PROTOCOL_VIOLATION,
      );
      expect(error.message).toMatch(/65537 bytes; at most 65536 per message/);
    } finally {
      await server.close();
    }
  });
});
