import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  EventType,
  MAX_ERROR_TEXT,
  RestartPolicy,
  RunOutcome,
  TaskPhase,
  TaskReason,
  type WatchTasksResponse,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { hello, rawRunner } from "./helpers/raw-runner.js";
import { startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { collect } from "./helpers/streams.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const tinyBackoff = {
  initialDelay: { seconds: 0, nanos: 1_000_000 },
  maxDelay: { seconds: 0, nanos: 1_000_000 },
  multiplier: 1,
  jitter: 1,
};
const ms = (date?: Date) => date?.getTime() ?? Number.NaN;

describe("bounded growth", () => {
  it("a restart waits at least minRestartDelay, even with a 1 ms backoff", async () => {
    server = await startTestServer({ minRestartDelay: "300ms" });
    const runner = await startRunner(server.address, "restarter");
    try {
      const { task } = await call(
        rpc(server.tasks, "submitTask"),
        submitRequest(
          subprocessSpec("true", [], {
            restart: RestartPolicy.RESTART_POLICY_ALWAYS,
            maxAttempts: 4,
            backoff: tinyBackoff,
          }),
        ),
      );
      const events = await collect(
        server.tasks.watchTasks({ sinceRevision: 0, sendInitial: true, filter: undefined }),
        (event) => event.task?.id === task!.id && event.task.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED,
      );
      const waits = events
        .filter(
          (e): e is WatchTasksResponse & { task: NonNullable<WatchTasksResponse["task"]> } => e.task?.id === task!.id,
        )
        .filter((e) => e.task.status!.reason === TaskReason.BACKOFF)
        .map((e) => ms(e.task.status!.nextAttemptTime) - ms(e.task.updateTime));
      expect(waits).toHaveLength(3);
      for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(300);
    } finally {
      await runner.stop();
    }
  });

  it("keeps the newest runHistoryLimit runs; older ones go with their output and are counted in the status", async () => {
    server = await startTestServer({ runHistoryLimit: "3", minRestartDelay: "0ms" });
    const runner = await startRunner(server.address, "historian");
    try {
      const { task } = await call(
        rpc(server.tasks, "submitTask"),
        submitRequest(
          subprocessSpec("sh", ["-c", "echo attempt $SUPERVISOR_ATTEMPT"], {
            restart: RestartPolicy.RESTART_POLICY_ALWAYS,
            maxAttempts: 8,
            backoff: tinyBackoff,
          }),
        ),
      );
      const done = await waitForTask(server.tasks, task!.id);
      expect(done.status).toMatchObject({
        phase: TaskPhase.TASK_PHASE_SUCCEEDED,
        attempt: 8,
        prunedRuns: 5,
        runCounts: { succeeded: 8, failed: 0, timeout: 0, canceled: 0, lost: 0, deferred: 0 },
      });
      const { runs } = await call(rpc(server.tasks, "listTaskRuns"), { taskId: task!.id, pageSize: 0, pageToken: "" });
      expect(runs.map((r) => r.attempt)).toEqual([6, 7, 8]);
      await expectError(
        collect(
          server.tasks.streamTaskOutput({ taskId: task!.id, attempt: 2, follow: false, sinceSeq: 0 }),
          () => false,
        ),
        status.NOT_FOUND,
        ErrorReason.OUTPUT_NOT_FOUND,
      );
      const latest = await collect(
        server.tasks.streamTaskOutput({ taskId: task!.id, attempt: 8, follow: false, sinceSeq: 0 }),
        () => false,
      );
      expect(latest.map((e) => (e.event?.$case === "chunk" ? e.event.value.data.toString() : "")).join("")).toBe(
        "attempt 8\n",
      );
    } finally {
      await runner.stop();
    }
  });

  it("clips a runner's error text to 4 KiB, so every answer carrying the task stays small", async () => {
    server = await startTestServer();
    const runner = rawRunner(server.runners);
    runner.send(hello("chatty"));
    await runner.next(); // welcome
    const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true", [])));
    const assign = (await runner.next()).message as { $case: "assign"; value: { runId: string } };
    runner.send({
      $case: "runFinished",
      value: { runId: assign.value.runId, outcome: RunOutcome.RUN_OUTCOME_FAILED, error: "e".repeat(3_000_000) },
    });
    const done = await waitForTask(server.tasks, task!.id);
    expect(done.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    const [run] = (await call(rpc(server.tasks, "listTaskRuns"), { taskId: task!.id, pageSize: 0, pageToken: "" }))
      .runs;
    expect(run!.error.length).toBeLessThanOrEqual(MAX_ERROR_TEXT);
    expect(run!.error).toMatch(/characters cut\]$/);
    expect(done.status!.message.length).toBeLessThan(MAX_ERROR_TEXT + 100);
    // A watcher with a default client still reads the task.
    const [event] = await collect(
      server.tasks.watchTasks({ sinceRevision: 0, sendInitial: true, filter: undefined }),
      (e) => e.type === EventType.EVENT_TYPE_ADDED,
    );
    expect(event!.task!.id).toBe(task!.id);
    runner.stream.end();
  });

  it("refuses a spec whose encoding is over 1 MiB (INVALID_ARGUMENT at spec), storing nothing", async () => {
    server = await startTestServer();
    const args = Array.from({ length: 40 }, () => "a".repeat(30_000));
    const error = await expectError(
      call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("echo", args))),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["spec"]);
    expect(error.fieldViolations[0]!.description).toMatch(/bytes encoded, at most 1048576/);
    const page = await call(rpc(server.tasks, "listTasks"), { pageSize: 0, pageToken: "" });
    expect(page.tasks).toEqual([]);
  });
});
