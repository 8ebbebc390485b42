// Client-side helpers: channels, promisified calls, the closed-loop load driver, typical specs.

import { randomUUID } from "node:crypto";
import {
  embedded,
  RunnerServiceClient,
  SubmitTaskRequest,
  SubmitTaskResponse,
  subprocess,
  TaskServiceClient,
} from "@supervisor/sdk";
import { grpc } from "./deps.mjs";
import { nowMs, summarize } from "./stats.mjs";

const { credentials, makeGenericClientConstructor } = grpc;

const insecure = credentials.createInsecure();
let channelSeq = 0;

/**
 * grpc-js shares one connection between clients with the same target and
 * options; a distinct option gives a client its own TCP connection (as a
 * separate process would have).
 */
export const ownConnection = (extra = {}) => ({ "bench.connection": `${++channelSeq}:${process.pid}`, ...extra });

export const taskClient = (address, options = {}) => new TaskServiceClient(address, insecure, options);
export const runnerClient = (address, options = {}) => new RunnerServiceClient(address, insecure, options);

/** Promise of a generated unary method's response, with a deadline. */
export function unary(client, method, request, deadlineMs = 30_000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + deadlineMs }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** The typical task of these benchmarks: a subprocess with 2 args and 3 labels. */
export function typicalSpec(i = 0) {
  return subprocess("/bin/echo", ["hello", `world-${i % 1000}`], {
    labels: { team: "infra", env: "prod", shard: String(i % 10) },
  });
}
export const noopSpec = () => embedded("noop");

export const submitRequest = (spec) => ({ spec, requestId: randomUUID() });

/** A client for the no-op server that encodes and decodes like the generated TaskServiceClient does. */
const NoopClientCtor = makeGenericClientConstructor(
  {
    Submit: {
      path: "/bench.Noop/Submit",
      requestStream: false,
      responseStream: false,
      requestSerialize: (value) => Buffer.from(SubmitTaskRequest.encode(value).finish()),
      requestDeserialize: (value) => value,
      responseSerialize: (value) => value,
      responseDeserialize: (value) => SubmitTaskResponse.decode(value),
    },
  },
  "bench.Noop",
);
export const noopClient = (address, options = {}) => new NoopClientCtor(address, insecure, options);
export function noopSubmit(client, request, deadlineMs = 30_000) {
  return new Promise((resolve, reject) => {
    client.Submit(request, { deadline: Date.now() + deadlineMs }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/**
 * Closed loop: `concurrency` callers each issue `op()` back to back until
 * `durationMs` passes or `maxOps` were started. Records each op's latency.
 * `units(result)` says how many items an op carried (tasks in a batch).
 */
export async function closedLoop({ concurrency, durationMs, maxOps, op, units = () => 1, maxErrors = 50 }) {
  const latencies = [];
  let started = 0;
  let completed = 0;
  let items = 0;
  let errors = 0;
  let firstError;
  const t0 = nowMs();
  const cpu0 = process.cpuUsage();
  const deadline = t0 + durationMs;
  async function caller() {
    while (started < maxOps && nowMs() < deadline && errors < maxErrors) {
      const index = started++;
      const s = nowMs();
      try {
        const result = await op(index);
        latencies.push(nowMs() - s);
        completed++;
        items += units(result);
      } catch (error) {
        errors++;
        firstError ??= error;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsedMs = nowMs() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (errors >= maxErrors) throw new Error(`${errors} errors; first: ${firstError?.message ?? firstError}`);
  return {
    concurrency,
    completed,
    items,
    errors,
    firstError: firstError ? String(firstError.message ?? firstError) : undefined,
    elapsedMs,
    opsPerSec: (completed / elapsedMs) * 1000,
    itemsPerSec: (items / elapsedMs) * 1000,
    latencyMs: summarize(latencies),
    /** CPU share of one core used by this (client) process during the loop. */
    clientCpu: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100) / 100,
  };
}
