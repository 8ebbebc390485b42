// A hand-driven runner: a RunnerService.Connect stream on its own connection that says hello,
// heartbeats, and answers each assign with runStarted, optional output chunks, and runFinished.
import { OutputStream, RunOutcome } from "@supervisor/sdk";
import { ownConnection, runnerClient } from "./clients.mjs";
import { nowMs } from "./stats.mjs";

export function rawRunner(address, { name = "bench-raw", capacity = 1, kinds = ["embedded:noop"], output } = {}) {
  const client = runnerClient(address, ownConnection());
  const stream = client.connect();
  const assigned = new Map(); // taskId → receivedAt (ms)
  const waiters = new Map();
  let welcomed;
  const welcome = new Promise((resolve, reject) => {
    welcomed = resolve;
    stream.once("error", reject);
  });
  stream.on("data", (message) => {
    const t = nowMs();
    const body = message.message;
    if (body?.$case === "welcome") return welcomed(body.value.runnerId);
    if (body?.$case !== "assign") return;
    const { runId, taskId } = body.value;
    assigned.set(taskId, t);
    waiters.get(taskId)?.(t);
    stream.write({ message: { $case: "runStarted", value: { runId } } });
    if (output) {
      for (let seq = 1; seq <= output.chunks; seq++) {
        stream.write({
          message: {
            $case: "output",
            value: { runId, stream: OutputStream.OUTPUT_STREAM_STDOUT, data: output.data, seq },
          },
        });
      }
    }
    stream.write({
      message: { $case: "runFinished", value: { runId, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" } },
    });
  });
  stream.on("error", () => {});
  stream.write({
    message: {
      $case: "hello",
      value: {
        name,
        labels: {},
        kinds,
        capacity,
        version: "bench",
        activeRunIds: [],
        instanceId: "",
        finishedRunIds: [],
      },
    },
  });
  const heartbeat = setInterval(() => stream.write({ message: { $case: "heartbeat", value: {} } }), 2_000);
  return {
    welcome,
    assigned,
    /** When the assign for this task arrived (waits up to timeoutMs). */
    assignedAt(taskId, timeoutMs) {
      if (assigned.has(taskId)) return Promise.resolve(assigned.get(taskId));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no assign for ${taskId} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(taskId, (t) => {
          clearTimeout(timer);
          waiters.delete(taskId);
          resolve(t);
        });
      });
    },
    close() {
      clearInterval(heartbeat);
      stream.end();
      client.close();
    },
  };
}
