/**
 * Fuzzing every method of the supervisor with random and mutated requests
 * (fast-check). One real server (real SQLite file, port 0) is shared by the
 * whole file; FUZZ_RUNS is the total number of cases over the four properties
 * (default 3000 for CI; `npm run fuzz` runs 100 000). FUZZ_SEED replays a run.
 *
 * For every case: the call succeeds with a sane answer, or fails with a
 * documented code and a google.rpc.ErrorInfo whose reason is in the closed
 * list (sdk/src/reasons.ts) and fits the code; INVALID_ARGUMENT names at least
 * one field. Never INTERNAL, UNKNOWN, a hang, a crash, an unhandled rejection
 * or an error in the server log.
 *
 * Deterministic reproductions of the bugs these properties found are in
 * "bugs found by fuzzing" (each failed before its fix).
 *
 * A body that does not decode at all (garbage bytes, an int64 past 2^53 with
 * ts-proto's forceLong=number, JSON nested past the decoders' depth limit) is
 * INVALID_ARGUMENT with the field "(request body)": it names the whole request,
 * so it is accepted wherever the rule lists fields, but never where the input
 * is valid and the answer must be OK.
 */

import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import {
  type CallOptions,
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  Metadata,
  type ServiceError,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import {
  BatchSubmitTasksRequest,
  BatchSubmitTasksResponse,
  CancelTaskRequest,
  CancelTaskResponse,
  CancelTasksRequest,
  CancelTasksResponse,
  ConnectRequest,
  ConnectResponse,
  DrainRunnerRequest,
  DrainRunnerResponse,
  decodeStatusDetails,
  ERROR_DOMAIN,
  ErrorReason,
  type FieldViolation,
  GetTaskRequest,
  GetTaskResponse,
  jsonNesting,
  ListRunnersRequest,
  ListRunnersResponse,
  ListTaskRunsRequest,
  ListTaskRunsResponse,
  ListTasksRequest,
  ListTasksResponse,
  MAX_JSON_BYTES,
  MAX_JSON_NESTING,
  RerunTaskRequest,
  RerunTaskResponse,
  RunnerServiceClient,
  RunOutcome,
  RunPhase,
  STATUS_DETAILS_KEY,
  StreamTaskOutputRequest,
  StreamTaskOutputResponse,
  SubmitTaskRequest,
  SubmitTaskResponse,
  type Task,
  type TaskFilter,
  TaskPhase,
  TaskServiceClient,
  TaskSpec,
  WatchTasksRequest,
  WatchTasksResponse,
} from "@supervisor/sdk";
import { Status } from "@supervisor/sdk/gen/google/rpc/status";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../server/src/config.js";
import { type RunningServer, startServer } from "../server/src/server.js";
import {
  anySelector,
  anyString,
  anySubmit,
  applyStringEdit,
  batchCase,
  type FilterCase,
  type FirstStep,
  firstStep,
  forgeToken,
  type IdRecipe,
  idRecipe,
  int32,
  pageSize as pageSizeArb,
  type RunnerStep,
  rawBody,
  resolveId,
  revisionRecipe,
  runnerStep,
  safeInt64,
  selectorCase,
  type TokenRecipe,
  taskFilterCase,
  toConnectMessage,
  tokenRecipe,
} from "./helpers/arbitraries.js";
import { newStore, type TestStore } from "./helpers/backend.js";
import { hello, rawRunner, runnersListed } from "./helpers/raw-runner.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";

// ---------------------------------------------------------------- budget

const TOTAL_RUNS = Math.max(4, Number(process.env.FUZZ_RUNS ?? 3000));
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Shares of the total: Connect cases are the slowest (a stream, a hello, a few messages, a liveness probe). */
const RUNS = {
  submit: Math.round(TOTAL_RUNS * 0.3),
  raw: Math.round(TOTAL_RUNS * 0.3),
  reads: Math.round(TOTAL_RUNS * 0.3),
  connect: Math.max(1, Math.round(TOTAL_RUNS * 0.1)),
};
/** Generous per-case budgets (ms) so the test timeout scales with FUZZ_RUNS; typical cases take a few ms. */
const timeoutFor = (runs: number, perCaseMs: number) => 30_000 + runs * perCaseMs;
const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
/** fast-check's report, bounded: counterexamples can hold 256 KiB strings and 10 000-element arrays. */
function reporter<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  // Long strings and arrays shortened (the seed replays the exact case).
  const example = details.counterexample === null ? "(none)" : show(details.counterexample);
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `Property failed after ${details.numRuns} tests (seed ${details.seed}, path "${details.counterexamplePath}", ${details.numShrinks} shrinks; replay with FUZZ_SEED=${details.seed})\n` +
      `Counterexample: ${clip(example, 4000)}\nError: ${clip(error, 4000)}`,
  );
}
/**
 * numRuns, the bounded reporter, FUZZ_SEED, and a time limit just under the
 * test's timeout: shrinking a failure whose cases wait on timeouts can be slow,
 * and an interrupted run still reports the smallest counterexample found so far
 * (an interrupted run that found nothing fails too: every case must run).
 */
const fcParams = <T>(numRuns: number, timeLimitMs: number): fc.Parameters<T> => ({
  numRuns,
  reporter,
  interruptAfterTimeLimit: Math.max(10_000, timeLimitMs - 15_000),
  markInterruptAsFailure: true,
  ...(SEED === undefined ? {} : { seed: SEED }),
});

/** Prints the first failure of each property as it happens (before shrinking, which may take a while). */
const firstFailures = new Set<string>();
function logged<A extends unknown[]>(
  property: string,
  predicate: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await predicate(...args);
    } catch (error) {
      connectClients();
      if (!firstFailures.has(property)) {
        firstFailures.add(property);
        console.error(
          `[${property}] first failure (before shrinking): ${clip(error instanceof Error ? error.message : String(error), 3000)}`,
        );
      }
      throw error;
    }
  };
}

// ---------------------------------------------------------------- server and clients

/** Errors the server logged (log calls that carry an error): any of these is a bug. */
const serverErrors: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

let dir: string;
let store: TestStore | undefined;
let server: RunningServer;
let tasks: TaskServiceClient;
let runners: RunnerServiceClient;
let raw: Client;

/** Live pools the recipes pick from. */
const SEEDED: string[] = [];
const taskPool: string[] = [];
const runnerPool: string[] = [];
/** request_id → task id it created (for the idempotency oracle). */
const requestIds = new Map<string, string>();
let otherListToken = "";

/** What a string becomes on the wire (lone surrogates turn into U+FFFD), for comparing echoes. */
const wire = (text: string) => Buffer.from(text, "utf8").toString("utf8");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * (Re)creates the clients, each on an HTTP/2 connection of its own: a status
 * the server cannot deliver wedges its connection for a while, and a failure
 * must not make the next cases (or fast-check's shrinking) fail with it.
 */
function connectClients() {
  for (const client of [tasks, runners, raw]) client?.close();
  const options = { "grpc.use_local_subchannel_pool": 1 };
  tasks = new TaskServiceClient(server.address, credentials.createInsecure(), options);
  runners = new RunnerServiceClient(server.address, credentials.createInsecure(), options);
  raw = new Client(server.address, credentials.createInsecure(), options);
}

function rememberTask(id: string) {
  taskPool.push(id);
  if (taskPool.length > 400) taskPool.splice(SEEDED.length, taskPool.length - 400);
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  dir = tempDir("supervisor-fuzz-");
  store = await newStore(dir);
  const config = loadConfig({
    flags: {
      listen: "127.0.0.1:0",
      db: store.db,
      shutdownGracePeriod: "2s",
      metricsListen: "off",
      outputCapBytes: 4096,
      slotQueueLimit: 3,
      heartbeatInterval: "1s",
      leaseTtl: "3s",
      journalMinRevisions: 200,
      journalMinAge: "1ms",
      sweepInterval: "500ms",
      bookmarkInterval: "200ms",
    },
  });
  server = await startServer(config, (message, error) => {
    if (error !== undefined)
      serverErrors.push(`${message}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  });
  connectClients();
  await seed();
});

afterAll(async () => {
  printStats();
  tasks?.close();
  runners?.close();
  raw?.close();
  await server?.shutdown();
  await store?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
});

/**
 * A few tasks with history, so the id-driven methods have something real to
 * chew on: one that ran twice (2 runs, output past the cap), one left running
 * on a runner that went away (LOST after the lease), one waiting in a slot.
 */
async function seed() {
  const selector = { matchLabels: { pool: "seed" }, matchExpressions: [] };
  const exec = { $case: "subprocess" as const, value: { command: "echo", args: ["seed"], env: {}, workingDir: "" } };
  const base = TaskSpec.fromPartial({
    exec,
    labels: { seed: "yes" },
    runnerSelector: selector,
  });
  const twice = await unwrap(
    invoke(rpc(tasks, "submitTask"), {
      requestId: "",
      spec: {
        ...base,
        restart: 3,
        maxAttempts: 2,
        backoff: {
          initialDelay: { seconds: 0, nanos: 1e6 },
          maxDelay: { seconds: 0, nanos: 1e6 },
          multiplier: 1,
          jitter: 1,
        },
      },
    }),
  );
  const left = await unwrap(
    invoke(rpc(tasks, "submitTask"), { requestId: "", spec: { ...base, restart: 2, maxAttempts: 3 } }),
  );
  const slotted = await unwrap(
    invoke(rpc(tasks, "submitTask"), {
      requestId: "",
      spec: { ...base, slot: "seed-slot", runnerSelector: { matchLabels: { pool: "nobody" }, matchExpressions: [] } },
    }),
  );
  const runner = rawRunner(runners);
  runner.send(hello("seed-runner", { labels: { pool: "seed" }, capacity: 2 }));
  const welcome = await runner.next();
  if (welcome.message?.$case !== "welcome")
    throw new Error(`seed runner was not welcomed: ${JSON.stringify(welcome).slice(0, 300)}`);
  runnerPool.push(welcome.message.value.runnerId);
  let finished = 0;
  while (finished < 2) {
    const message = await runner.next(15_000);
    if (message.message?.$case !== "assign") continue;
    const { runId, taskId } = message.message.value;
    runner.send({ $case: "runStarted", value: { runId } });
    const chunks = taskId === twice.task!.id ? 12 : 3;
    for (let seq = 1; seq <= chunks; seq++) {
      runner.send({
        $case: "output",
        value: { runId, stream: 1 + (seq % 2), data: Buffer.alloc(512, 65 + (seq % 26)), seq },
      });
    }
    if (taskId === twice.task!.id) {
      runner.send({
        $case: "runFinished",
        value: { runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "" },
      });
      finished++;
    }
  }
  await waitForTask(tasks, twice.task!.id);
  runner.stream.end();
  await runner.ended;
  for (const id of [twice.task!.id, left.task!.id, slotted.task!.id]) {
    SEEDED.push(id);
    taskPool.push(id);
  }
  await unwrap(invoke(rpc(tasks, "submitTask"), { requestId: "", spec: { ...base, labels: { seed: "second" } } }));
  otherListToken = (await unwrap(invoke(rpc(tasks, "listTasks"), { pageSize: 1, pageToken: "" }))).nextPageToken;
}

// ---------------------------------------------------------------- calls

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Answer };
/** The end of a call as the client saw it: a ServiceError or a stream's final status. */
interface Answer {
  code: status;
  details: string;
  metadata: Metadata;
}
type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** Every local call answers in milliseconds; 5 s without an answer is a hang (and keeps shrinking affordable). */
const CALL_DEADLINE_MS = 5_000;

function rpc<C extends object, K extends keyof C>(client: C, name: K): C[K] {
  return (client[name] as (...args: unknown[]) => unknown).bind(client) as C[K];
}

/** A unary call with a deadline; never rejects. */
function invoke<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Outcome<Res>> {
  return new Promise((resolve) => {
    method(request, new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) =>
      resolve(error ? { ok: false, error } : { ok: true, value: response }),
    );
  });
}

async function unwrap<T>(outcome: Promise<Outcome<T>>): Promise<T> {
  const result = await outcome;
  if (!result.ok) throw new Error(`setup call failed: ${describeAnswer(result.error)}`);
  return result.value;
}

interface StreamResult<T> {
  messages: T[];
  /** The final status, unless the stream hung even after we cancelled it. */
  status?: StatusObject;
  cancelledByUs: boolean;
}

/** Reads at most `max` messages (waiting `firstWaitMs` for the first, `idleMs` between), then cancels. */
function readStream<T>(
  stream: ClientReadableStream<T> | ClientDuplexStream<unknown, T>,
  max: number,
  firstWaitMs: number,
  idleMs: number,
): Promise<StreamResult<T>> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let cancelledByUs = false;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (final?: StatusObject) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ messages, status: final, cancelledByUs });
    };
    const cancel = () => {
      if (done || cancelledByUs) return;
      cancelledByUs = true;
      stream.cancel();
      clearTimeout(timer);
      timer = setTimeout(() => finish(undefined), CALL_DEADLINE_MS); // bound: on the status after our cancel
    };
    const arm = (ms: number) => {
      if (cancelledByUs) return;
      clearTimeout(timer);
      timer = setTimeout(cancel, ms); // bound: a stream with no end of its own is read until it goes quiet
    };
    stream.on("data", (message: T) => {
      messages.push(message);
      if (messages.length >= max) cancel();
      else arm(idleMs);
    });
    stream.on("error", () => {}); // the status event carries it
    stream.on("status", (final: StatusObject) => finish(final));
    arm(firstWaitMs);
  });
}

const identity = (bytes: Buffer) => bytes;

function rawUnary(path: string, body: Uint8Array): Promise<Outcome<Buffer>> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      path,
      identity,
      identity,
      Buffer.from(body),
      new Metadata(),
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error, response) => resolve(error ? { ok: false, error } : { ok: true, value: response! }),
    );
  });
}

// ---------------------------------------------------------------- judging answers

/** docs/errors.md: which reasons go with which code. */
const REASONS_BY_CODE: Partial<Record<status, readonly string[]>> = {
  [status.INVALID_ARGUMENT]: [
    ErrorReason.INVALID_REQUEST,
    ErrorReason.LABEL_SELECTOR_INVALID,
    ErrorReason.PAGE_TOKEN_INVALID,
  ],
  [status.NOT_FOUND]: [
    ErrorReason.TASK_NOT_FOUND,
    ErrorReason.RUNNER_NOT_FOUND,
    ErrorReason.OUTPUT_NOT_FOUND,
    ErrorReason.SCHEDULE_NOT_FOUND,
  ],
  [status.ALREADY_EXISTS]: [ErrorReason.REQUEST_ID_REUSED, ErrorReason.SCHEDULE_EXISTS],
  [status.FAILED_PRECONDITION]: [
    ErrorReason.SLOT_BUSY,
    ErrorReason.TASK_TERMINAL,
    ErrorReason.TASK_ACTIVE,
    ErrorReason.RUNNER_PROTOCOL_VIOLATION,
  ],
  [status.RESOURCE_EXHAUSTED]: [
    ErrorReason.SLOT_QUEUE_FULL,
    ErrorReason.WATCH_TOO_SLOW,
    ErrorReason.OUTPUT_TOO_SLOW,
    ErrorReason.TOO_MANY_STREAMS,
  ],
  [status.OUT_OF_RANGE]: [ErrorReason.REVISION_COMPACTED],
  [status.ABORTED]: [ErrorReason.RUNNER_REPLACED],
  [status.UNAVAILABLE]: [ErrorReason.SHUTTING_DOWN, ErrorReason.LEASE_EXPIRED, ErrorReason.STORE_UNAVAILABLE],
  [status.UNAUTHENTICATED]: [ErrorReason.TOKEN_MISSING, ErrorReason.TOKEN_INVALID],
  [status.PERMISSION_DENIED]: [ErrorReason.ROLE_FORBIDDEN, ErrorReason.SIGNATURE_INVALID],
  [status.UNIMPLEMENTED]: [ErrorReason.NOT_IMPLEMENTED],
};
const ALL_BUT_INTERNAL = (Object.values(status).filter((c) => typeof c === "number") as status[]).filter(
  (c) =>
    c !== status.OK &&
    c !== status.INTERNAL &&
    c !== status.UNKNOWN &&
    c !== status.CANCELLED &&
    c !== status.DEADLINE_EXCEEDED,
);

interface Decoded {
  code: status;
  details: string;
  reason?: string;
  domain?: string;
  metadata: Record<string, string>;
  violations: FieldViolation[];
}

function decodeAnswer(answer: Answer): Decoded {
  const details = decodeStatusDetails(answer.metadata);
  return {
    code: answer.code,
    details: answer.details,
    reason: details?.errorInfo?.reason,
    domain: details?.errorInfo?.domain,
    metadata: details?.errorInfo?.metadata ?? {},
    violations: details?.fieldViolations ?? [],
  };
}

/** A google.rpc.Status (a refused request of a partial-success batch) as the answer of a call failing with it. */
function statusAnswer(rpcStatus: Status): Answer {
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode(rpcStatus).finish()));
  return { code: rpcStatus.code, details: rpcStatus.message, metadata };
}

function describeAnswer(answer: Answer | Decoded): string {
  const d = "violations" in answer ? answer : decodeAnswer(answer);
  const violations = d.violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return `${status[d.code] ?? d.code} reason=${d.reason ?? "(no ErrorInfo)"} details=${JSON.stringify(d.details).slice(0, 300)}${violations ? ` violations=[${violations.slice(0, 300)}]` : ""}${Object.keys(d.metadata).length ? ` metadata=${JSON.stringify(d.metadata)}` : ""}`;
}

/** The field an undecodable body is reported under: the whole request. */
const REQUEST_BODY = "(request body)";

const stats = new Map<string, Map<string, number>>();
function count(property: string, label: string) {
  const byLabel = stats.get(property) ?? new Map<string, number>();
  stats.set(property, byLabel);
  byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
}
function printStats() {
  const lines: string[] = [`fuzz: FUZZ_RUNS=${TOTAL_RUNS}${SEED === undefined ? "" : ` FUZZ_SEED=${SEED}`}`];
  for (const [property, byLabel] of stats) {
    const total = [...byLabel.values()].reduce((a, b) => a + b, 0);
    lines.push(`  ${property}: ${total} calls`);
    for (const [label, n] of [...byLabel].sort((a, b) => b[1] - a[1]))
      lines.push(`    ${String(n).padStart(7)}  ${label}`);
  }
  if (serverErrors.length)
    lines.push(
      `  server log errors: ${serverErrors.length}`,
      ...serverErrors.slice(0, 5).map((e) => `    ${e.split("\n").slice(0, 4).join(" | ")}`),
    );
  console.log(lines.join("\n"));
}

interface Rule {
  /** Codes this method may answer for this input. */
  allowed: readonly status[];
  /** When the input decides the answer: "OK" or the one code it must be. */
  expected?: status | "OK";
  /** INVALID_ARGUMENT violations must name fields under these request paths. */
  fields?: readonly string[];
}

class CaseFailure extends Error {}

/**
 * Judges an answer. Returns the decoded error, or undefined for OK. Throws
 * when the answer breaks the rule or the error model.
 */
function judge(property: string, where: string, answer: Answer | undefined, rule: Rule): Decoded | undefined {
  const fail = (why: string): never => {
    throw new CaseFailure(`${where}: ${why}${answer ? `; got ${describeAnswer(answer)}` : ""}`);
  };
  if (!answer) {
    count(property, "OK");
    if (rule.expected !== undefined && rule.expected !== "OK") fail(`expected ${status[rule.expected]}, got OK`);
    return undefined;
  }
  const d = decodeAnswer(answer);
  const undecodable =
    d.code === status.INVALID_ARGUMENT && d.violations.length === 1 && d.violations[0]!.field === REQUEST_BODY;
  count(
    property,
    `${status[d.code] ?? d.code}/${d.reason ?? "(no ErrorInfo)"}${undecodable ? ` ${REQUEST_BODY}` : ""}`,
  );
  if (d.code === status.INTERNAL || d.code === status.UNKNOWN) fail("INTERNAL/UNKNOWN for a client's input");
  if (d.code === status.DEADLINE_EXCEEDED) fail(`no answer within ${CALL_DEADLINE_MS} ms`);
  if (!rule.allowed.includes(d.code)) fail(`code must be one of ${rule.allowed.map((c) => status[c]).join(", ")}`);
  if (!d.reason) fail("no google.rpc.ErrorInfo in grpc-status-details-bin");
  if (d.domain !== ERROR_DOMAIN) fail(`ErrorInfo.domain must be ${ERROR_DOMAIN}`);
  if (!REASONS_BY_CODE[d.code]?.includes(d.reason!))
    fail(`reason ${d.reason} is not a documented reason for ${status[d.code]}`);
  if (!d.details) fail("empty status message");
  if (d.code === status.INVALID_ARGUMENT) {
    if (d.violations.length === 0) fail("INVALID_ARGUMENT without a field violation");
    for (const v of d.violations) {
      if (!v.field || !v.description) fail("a field violation without field or description");
      if (
        rule.fields &&
        v.field !== REQUEST_BODY &&
        !rule.fields.some(
          (prefix) => v.field === prefix || v.field.startsWith(`${prefix}.`) || v.field.startsWith(`${prefix}[`),
        )
      ) {
        fail(`violation field ${JSON.stringify(v.field)} is not under ${rule.fields.join(" / ")}`);
      }
    }
  }
  if (rule.expected !== undefined && rule.expected !== d.code)
    fail(`expected ${rule.expected === "OK" ? "OK" : status[rule.expected]}`);
  return d;
}

function must(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}

/** The server still answers: a fresh UUID is NOT_FOUND / TASK_NOT_FOUND. */
async function expectAlive(where: string) {
  const id = randomUUID();
  const result = await invoke(rpc(tasks, "getTask"), { id });
  must(
    !result.ok &&
      result.error.code === status.NOT_FOUND &&
      decodeAnswer(result.error).reason === ErrorReason.TASK_NOT_FOUND,
    `${where}: the server stopped answering GetTask properly: ${result.ok ? "OK" : describeAnswer(result.error)}`,
  );
}

async function expectServing() {
  const result = await rawUnary("/grpc.health.v1.Health/Check", new Uint8Array());
  must(result.ok, `health check failed: ${result.ok ? "" : describeAnswer(result.error)}`);
  expect([...result.value]).toEqual([0x08, 0x01]); // HealthCheckResponse { status: SERVING }
}

const shorten = (text: string) => (text.length > 80 ? `${text.slice(0, 40)}…(${text.length} chars)` : text);
/** A value for a failure message: long strings (keys too) and arrays shortened, bytes as their length. */
function compact(value: unknown): unknown {
  if (typeof value === "string") return shorten(value);
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  if (Array.isArray(value))
    return value.length > 20 ? [...value.slice(0, 5).map(compact), `…(${value.length} items)`] : value.map(compact);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const entries = Object.entries(value);
  const shown = entries.slice(0, 20).map(([k, v]) => [shorten(k), compact(v)]);
  if (entries.length > 20) shown.push(["…", `${entries.length} keys`]);
  return Object.fromEntries(shown);
}
const show = (value: unknown) => JSON.stringify(compact(value));

// ---------------------------------------------------------------- tests

describe("fuzz", () => {
  // ------------------------------------------------------------ 1. submits
  it(`SubmitTask / BatchSubmitTasks: valid and mutated specs (${RUNS.submit} cases)`, {
    timeout: timeoutFor(RUNS.submit, 80),
  }, async () => {
    const P = "1 submit";
    const SUBMIT_CODES = [
      status.INVALID_ARGUMENT,
      status.FAILED_PRECONDITION,
      status.RESOURCE_EXHAUSTED,
      status.ALREADY_EXISTS,
      status.PERMISSION_DENIED,
    ];
    let cases = 0;

    /** Domain refusals must fit the request that caused them. */
    const checkRefusal = (d: Decoded, request: SubmitTaskRequest, where: string) => {
      const spec = request.spec;
      if (d.reason === ErrorReason.SLOT_BUSY)
        must(
          spec?.slot && d.metadata.slot === wire(spec.slot) && UUID.test(d.metadata.owner_task_id ?? ""),
          `${where}: SLOT_BUSY must name the request's slot and its owner: ${show(d.metadata)}`,
        );
      if (d.reason === ErrorReason.SLOT_QUEUE_FULL)
        must(
          spec?.slot && spec.admission === 2 && d.metadata.slot === wire(spec.slot) && d.metadata.limit === "3",
          `${where}: SLOT_QUEUE_FULL must be a QUEUE submit naming its slot and limit: ${show(d.metadata)}`,
        );
      if (d.reason === ErrorReason.REQUEST_ID_REUSED)
        must(
          request.requestId && d.metadata.request_id === wire(request.requestId) && UUID.test(d.metadata.task_id ?? ""),
          `${where}: REQUEST_ID_REUSED must name the request_id and its task: ${show(d.metadata)}`,
        );
      if (d.reason === ErrorReason.SIGNATURE_INVALID)
        must(spec?.signature, `${where}: SIGNATURE_INVALID for a spec without a signature`);
    };

    /** A new task comes back PENDING; a replayed request_id comes back as the task it created. */
    const checkAccepted = (task: Task | undefined, request: SubmitTaskRequest, where: string): "new" | "replay" => {
      must(task && UUID.test(task.id), `${where}: the answer has no task id: ${show(task)}`);
      const previous = request.requestId ? requestIds.get(request.requestId) : undefined;
      if (previous !== undefined) {
        must(
          task.id === previous,
          `${where}: request_id ${request.requestId} replayed a different task (${task.id}, first ${previous})`,
        );
        return "replay";
      }
      must(
        task.status?.phase === TaskPhase.TASK_PHASE_PENDING,
        `${where}: a new task must be PENDING, got ${show(task.status)}`,
      );
      if (request.requestId) requestIds.set(request.requestId, task.id);
      rememberTask(task.id);
      return "new";
    };

    /** Every accepted task reads back, exactly as the submit answered it. */
    const readBack = async (task: Task, where: string) => {
      const got = await invoke(rpc(tasks, "getTask"), { id: task.id });
      if (!got.ok)
        throw new CaseFailure(
          `${where}: GetTask of the task just accepted (${task.id}) failed: ${describeAnswer(got.error)}`,
        );
      expect(got.value.task, `${where}: GetTask must return the stored task`).toEqual(task);
    };

    const checkSpecKept = (task: Task, spec: TaskSpec, where: string) => {
      const stored = task.spec!;
      expect(
        { slot: stored.slot, labels: stored.labels, priority: stored.priority, exec: stored.exec },
        `${where}: the stored spec must keep what was sent`,
      ).toEqual({
        slot: spec.slot,
        labels: spec.labels,
        priority: spec.priority,
        exec: spec.exec,
      });
    };

    const single = anySubmit.map((c) => ({ method: "submit" as const, ...c }));
    // Half the batches ask for each request on its own (return_partial_success).
    const batch = fc.tuple(batchCase, fc.boolean()).map(([c, partial]) => ({
      method: "batch" as const,
      kind: c.kind,
      request: { ...c.request, returnPartialSuccess: partial },
    }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 3, arbitrary: single }, { weight: 2, arbitrary: batch }),
        logged(P, async (op) => {
          cases++;
          if (op.method === "submit") {
            const where = `SubmitTask(${op.kind})`;
            const result = await invoke(rpc(tasks, "submitTask"), op.request);
            const verdict = judge(P, where, result.ok ? undefined : result.error, {
              allowed: SUBMIT_CODES,
              fields: ["spec", "request_id"],
            });
            if (verdict) {
              must(
                !(op.kind === "valid" && verdict.code === status.INVALID_ARGUMENT),
                `${where}: a valid request was refused: ${describeAnswer(verdict)}`,
              );
              checkRefusal(verdict, op.request, where);
              return;
            }
            const task = (result as { value: SubmitTaskResponse }).value.task;
            if (checkAccepted(task, op.request, where) === "new") {
              if (op.kind === "valid") checkSpecKept(task!, op.request.spec!, where);
              await readBack(task!, where);
            }
            return;
          }
          const n = op.request.requests.length;
          const partial = op.request.returnPartialSuccess;
          const where = `BatchSubmitTasks(${op.kind}, ${n} requests${partial ? ", each on its own" : ""})`;
          const result = await invoke(rpc(tasks, "batchSubmitTasks"), op.request);
          const verdict = judge(P, where, result.ok ? undefined : result.error, {
            allowed: SUBMIT_CODES,
            fields: ["requests"],
          });
          if (verdict) {
            must(
              !(op.kind === "valid" && verdict.code === status.INVALID_ARGUMENT),
              `${where}: a valid batch was refused: ${describeAnswer(verdict)}`,
            );
            if (partial) {
              must(
                verdict.code === status.INVALID_ARGUMENT &&
                  verdict.violations.every((v) => v.field === "requests" || v.field === REQUEST_BODY),
                `${where}: only the batch as a whole (its size, its bytes) may fail the call: ${describeAnswer(verdict)}`,
              );
              return;
            }
            if (verdict.code !== status.INVALID_ARGUMENT) {
              const index = Number(verdict.metadata.request_index);
              must(
                Number.isInteger(index) && index >= 0 && index < n,
                `${where}: a batch refusal must name the failing request (request_index): ${show(verdict.metadata)}`,
              );
              checkRefusal(verdict, op.request.requests[index]!, `${where} [${index}]`);
            }
            return;
          }
          const { tasks: answered, failedRequests } = (result as { value: BatchSubmitTasksResponse }).value;
          const refused = Object.keys(failedRequests).map(Number);
          must(
            answered.length + refused.length === n && refused.every((i) => Number.isInteger(i) && i >= 0 && i < n),
            `${where}: ${answered.length} tasks and refusals ${show(refused)} for ${n} requests`,
          );
          must(partial || refused.length === 0, `${where}: failed_requests in an all-or-nothing answer`);
          const fresh: Task[] = [];
          let next = 0;
          op.request.requests.forEach((request, i) => {
            const refusal = failedRequests[i];
            if (!refusal) {
              const task = answered[next++]!;
              if (checkAccepted(task, request, `${where} [${i}]`) === "new") fresh.push(task);
              return;
            }
            // Exactly what a SubmitTask of this request alone is held to: its own field paths, no request_index.
            const d = judge(P, `${where} [${i}]`, statusAnswer(refusal), {
              allowed: SUBMIT_CODES,
              fields: ["spec", "request_id"],
            })!;
            must(
              !(op.kind === "valid" && d.code === status.INVALID_ARGUMENT),
              `${where} [${i}]: a valid request was refused: ${describeAnswer(d)}`,
            );
            must(d.metadata.request_index === undefined, `${where} [${i}]: request_index in a request's own status`);
            checkRefusal(d, request, `${where} [${i}]`);
          });
          // The last new task reads back as answered (a later REPLACE in the same batch may have changed earlier ones).
          if (fresh.length > 0) await readBack(fresh.at(-1)!, where);
        }),
      ),
      fcParams(RUNS.submit, timeoutFor(RUNS.submit, 80)),
    );
    expect(cases).toBeGreaterThanOrEqual(RUNS.submit);
    await expectAlive("after the submit property");
  });

  // ------------------------------------------------------------ 2. raw bytes
  it(`raw request bytes to every method (${RUNS.raw} cases)`, { timeout: timeoutFor(RUNS.raw, 30) }, async () => {
    const P = "2 raw bytes";
    const methods = rawMethods();
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        rawCase(methods),
        logged(P, async ({ method, frames }) => {
          cases++;
          const m = methods[method]!;
          const where = `${m.path} with ${frames.map((f) => `${f.length}B`).join("+")}`;
          judge(P, where, await sendRaw(m, frames, where), { allowed: ALL_BUT_INTERNAL });
          if (cases % 50 === 0) await expectAlive(where);
        }),
      ),
      fcParams(RUNS.raw, timeoutFor(RUNS.raw, 30)),
    );
    await expectAlive("after the raw property");
  });

  // ------------------------------------------------------------ 3. reads, lists, watches
  it(`ids, filters, page tokens, selectors and revisions (${RUNS.reads} cases)`, {
    timeout: timeoutFor(RUNS.reads, 50),
  }, async () => {
    const P = "3 reads";
    await fc.assert(
      fc.asyncProperty(
        readOp,
        logged(P, (op) => runReadOp(P, op)),
      ),
      fcParams(RUNS.reads, timeoutFor(RUNS.reads, 50)),
    );
    await expectAlive("after the read property");
  });

  // ------------------------------------------------------------ 4. runner protocol
  it(`RunnerService.Connect: random hellos and message sequences (${RUNS.connect} cases)`, {
    timeout: timeoutFor(RUNS.connect, 150),
  }, async () => {
    const P = "4 connect";
    await fc.assert(
      fc.asyncProperty(
        firstStep,
        fc.array(runnerStep, { maxLength: 8 }),
        logged(P, async (first, steps) => {
          await runConnectCase(P, first, steps);
          await expectAlive("after a Connect case");
        }),
      ),
      fcParams(RUNS.connect, timeoutFor(RUNS.connect, 150)),
    );
  });

  // ------------------------------------------------------------ known bug
  // grpc-js answers a body it cannot deserialize with a bare INTERNAL; safe-decode.ts turns it into ours.
  describe("undecodable requests", () => {
    it("undecodable request bytes are INVALID_ARGUMENT with ErrorInfo, not INTERNAL", { timeout: 60_000 }, async () => {
      const methods = rawMethods().filter((m) => m.kind === "unary");
      await fc.assert(
        fc.asyncProperty(rawCase(methods), async ({ method, frames }) => {
          const answer = await sendRaw(methods[method]!, frames, "strict");
          if (!answer) return; // the bytes happened to decode into a request the method accepts
          const d = decodeAnswer(answer);
          must(
            d.code !== status.INTERNAL && d.reason !== undefined,
            `${methods[method]!.path} answered ${describeAnswer(d)} for ${Buffer.from(frames[0]!).toString("hex")}`,
          );
        }),
        fcParams(200, 60_000),
      );
    });

    it("an int64 past 2^53 (WatchTasks since_revision = 2^53) is INVALID_ARGUMENT, not INTERNAL", async () => {
      const result = await readStream(tasks.watchTasks({ sinceRevision: 2 ** 53, sendInitial: false }), 1, 2000, 200);
      must(
        result.status && result.status.code !== status.INTERNAL,
        `WatchTasks(since_revision=2^53) answered ${result.status ? describeAnswer(result.status) : "nothing"}`,
      );
    });

    it("an embedded payload of 33 nested JSON objects (a few hundred bytes) is answered by the supervisor, not INTERNAL", async () => {
      let payload: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 32; i++) payload = { a: payload };
      const spec = TaskSpec.fromPartial({
        exec: { $case: "embedded" as const, value: { handler: "h1", payload } },
      });
      const result = await invoke(rpc(tasks, "submitTask"), { spec, requestId: "" });
      must(
        result.ok || result.error.code !== status.INTERNAL,
        `SubmitTask(payload of 33 nested objects) answered ${result.ok ? "OK" : describeAnswer(result.error)}`,
      );
    });
  });

  // ------------------------------------------------------------ found by this fuzzer
  // Deterministic reproductions of what the properties found, each on a server of its own
  // (a poisoned task or a stalled connection must not spill into the other tests).
  describe("bugs found by fuzzing", () => {
    let ownServer: TestServer;
    /** Clients on a connection of their own (a status that cannot be delivered stalls its whole HTTP/2 connection). */
    let own: { tasks: TaskServiceClient; runners: RunnerServiceClient };
    beforeAll(async () => {
      ownServer = await startTestServer();
    });
    beforeEach(() => {
      const options = { "grpc.use_local_subchannel_pool": 1 };
      own = {
        tasks: new TaskServiceClient(ownServer.address, credentials.createInsecure(), options),
        runners: new RunnerServiceClient(ownServer.address, credentials.createInsecure(), options),
      };
    });
    afterEach(() => {
      own.tasks.close();
      own.runners.close();
    });
    afterAll(() => ownServer?.close());

    it("an error about an oversized field still reaches the client (status trailers stay bounded)", {
      timeout: 30_000,
    }, async () => {
      const exec = { $case: "subprocess" as const, value: { command: "echo", args: [], env: {}, workingDir: "" } };
      const spec = TaskSpec.fromPartial({
        exec,
        labels: { [`-${"a".repeat(30_000)}`]: "v" },
      });
      const submitted = await invoke(rpc(own.tasks, "submitTask"), { spec, requestId: "" });
      must(
        !submitted.ok && submitted.error.code === status.INVALID_ARGUMENT,
        `SubmitTask with a 30 001-character label key (a 30 KB request): ${submitted.ok ? "OK" : describeAnswer(submitted.error)}`,
      );
      own.tasks.close();
      own.tasks = new TaskServiceClient(ownServer.address, credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      });
      // One violation per element: 600 NUL arguments (a 1.8 KB request) make 600 BadRequest entries.
      const nulArgs = {
        ...spec,
        labels: {},
        exec: { ...exec, value: { ...exec.value, args: Array.from({ length: 600 }, () => "\0") } },
      };
      const many = await invoke(rpc(own.tasks, "submitTask"), { spec: nulArgs, requestId: "" });
      must(
        !many.ok && many.error.code === status.INVALID_ARGUMENT,
        `SubmitTask with 600 arguments "\\0": ${many.ok ? "OK" : describeAnswer(many.error)}`,
      );
      // 50 listed, then one naming the first left out: every violation has a field.
      const listed = decodeAnswer(many.error).violations;
      expect(listed).toHaveLength(51);
      expect(listed[50]).toMatchObject({
        field: "spec.subprocess.args[50]",
        description: "this and 549 more bad fields not listed",
      });
      const drained = await invoke(rpc(own.runners, "drainRunner"), { runnerId: "r".repeat(70_000) });
      must(
        !drained.ok && drained.error.code === status.INVALID_ARGUMENT,
        `DrainRunner with a 70 000-character runner_id: ${drained.ok ? "OK" : describeAnswer(drained.error)}`,
      );
    });

    it("an error whose clipped text would end inside an emoji still reaches the client (no lone surrogate in grpc-message)", {
      timeout: 30_000,
    }, async () => {
      const key = "🙂".repeat(2000); // 4000 UTF-16 units: every clip point falls between the two halves of a pair
      const stream = own.runners.connect();
      stream.on("error", () => {});
      stream.on("data", () => {});
      const ended = new Promise<StatusObject>((resolve) => stream.on("status", resolve));
      stream.write({ message: hello("emoji-label-runner", { labels: { [key]: "v" } }) });
      const final = await Promise.race([
        ended,
        // bound: on the wait for the stream's status
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), CALL_DEADLINE_MS)),
      ]);
      stream.cancel();
      must(final, `Connect with a 2000-emoji label key: no status within ${CALL_DEADLINE_MS} ms`);
      expect(decodeAnswer(final).reason).toBe(ErrorReason.INVALID_REQUEST);
      const exec = { $case: "subprocess" as const, value: { command: "echo", args: [], env: {}, workingDir: "" } };
      const spec = TaskSpec.fromPartial({
        exec,
        labels: { [key]: "v" },
      });
      const submitted = await invoke(rpc(own.tasks, "submitTask"), { spec, requestId: "" });
      must(
        !submitted.ok && submitted.error.code === status.INVALID_ARGUMENT,
        `SubmitTask with a 2000-emoji label key: ${submitted.ok ? "OK" : describeAnswer(submitted.error)}`,
      );
    });

    it("a task the server accepts can be answered and listed (payload at the decode depth limit)", {
      timeout: 30_000,
    }, async () => {
      // 30 nested objects around 2 nested lists: 194 bytes of JSON; its deepest message is at depth 100 in
      // SubmitTaskRequest, so the server decodes and stores it, but SubmitTaskResponse / ListTasksResponse /
      // WatchTasksResponse / ConnectResponse.assign nest it at 101, which ts-proto clients refuse to decode.
      let value: unknown = 1;
      for (let i = 0; i < 2; i++) value = [value];
      for (let i = 0; i < 30; i++) value = { a: value };
      const spec = TaskSpec.fromPartial({
        exec: { $case: "embedded" as const, value: { handler: "h1", payload: { root: value } } },
      });
      const submitted = await invoke(rpc(own.tasks, "submitTask"), { spec, requestId: "" });
      must(
        submitted.ok || submitted.error.code === status.INVALID_ARGUMENT,
        `SubmitTask(payload at depth 100): ${submitted.ok ? "OK" : describeAnswer(submitted.error)}`,
      );
      const listed = await invoke(rpc(own.tasks, "listTasks"), { pageSize: 10, pageToken: "" });
      must(listed.ok, `ListTasks after it: ${listed.ok ? "" : describeAnswer(listed.error)}`);
    });

    it("a runner stream that sends an undecodable message while the server is writing still gets a status", {
      timeout: 30_000,
    }, async () => {
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 40; i++) deep = { a: deep };
      const stream = own.runners.connect();
      stream.on("error", () => {});
      let received = 0;
      const ended = new Promise<StatusObject>((resolve) => stream.on("status", resolve));
      // 5000 active_run_ids the supervisor does not know: right after the welcome it writes 5000 cancels.
      // The undecodable message goes out as soon as the welcome arrives, while those are still queued.
      stream.on("data", () => {
        if (received++ === 0) {
          stream.write({
            message: {
              $case: "runFinished",
              value: { runId: "x", outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "", result: deep },
            },
          });
          stream.end();
        }
      });
      stream.write({
        message: hello("undecodable-after-hello", { activeRunIds: Array.from({ length: 5000 }, (_, i) => `run-${i}`) }),
      });
      const final = await Promise.race([
        ended,
        // bound: on the wait for the stream's status
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), CALL_DEADLINE_MS)),
      ]);
      stream.cancel();
      must(final, `no status within ${CALL_DEADLINE_MS} ms (received ${received} of 5001 messages)`);
    });

    it("a run result larger than tasks may carry fails the run with the reason (the runner's stream stays up)", {
      timeout: 30_000,
    }, async () => {
      // Past MAX_JSON_BYTES, well within the 4 MiB message limit. (Nesting past the bound cannot arrive: each JSON
      // level is three protobuf levels, so level 33 is past the decoders' depth limit and the message is undecodable.)
      const result = { blob: "x".repeat(MAX_JSON_BYTES) };
      const exec = { $case: "subprocess" as const, value: { command: "true", args: [], env: {}, workingDir: "" } };
      const spec = TaskSpec.fromPartial({
        exec,
        maxAttempts: 1,
        runnerSelector: { matchLabels: { pool: "deep-result" }, matchExpressions: [] },
      });
      const submitted = await unwrap(invoke(rpc(own.tasks, "submitTask"), { spec, requestId: "" }));
      const runner = rawRunner(own.runners);
      runner.send(hello("deep-result-runner", { labels: { pool: "deep-result" } }));
      expect((await runner.next()).message?.$case).toBe("welcome");
      const assign = (await runner.next()).message;
      must(assign?.$case === "assign", `expected an assign, got ${show(assign)}`);
      runner.send({
        $case: "runFinished",
        value: { runId: assign.value.runId, exitCode: 0, outcome: RunOutcome.RUN_OUTCOME_SUCCEEDED, error: "", result },
      });
      await waitForTask(own.tasks, submitted.task!.id);
      const runs = await unwrap(
        invoke(rpc(own.tasks, "listTaskRuns"), { taskId: submitted.task!.id, pageSize: 10, pageToken: "" }),
      );
      expect(runs.runs).toHaveLength(1);
      expect(runs.runs[0]!.phase).toBe(RunPhase.RUN_PHASE_FAILED);
      expect(runs.runs[0]!.error).toContain(
        `result refused: ${MAX_JSON_BYTES + 11} bytes of JSON, at most ${MAX_JSON_BYTES}`,
      );
      expect(runs.runs[0]!.result).toBeUndefined();
      runner.send({ $case: "heartbeat", value: {} });
      runner.stream.end();
      expect(await runner.ended, "the runner's stream ends cleanly").toBeUndefined();
      await runner.ended;
    });

    it("ListRunners accepts its own next_page_token when the page ends on a runner with a long name (names go up to 253 characters)", async () => {
      const longName = `a${"n".repeat(252)}`;
      const connected = [];
      for (const name of [longName, "b-runner"]) {
        const runner = rawRunner(own.runners);
        runner.send(hello(name, { kinds: ["embedded:none"] }));
        must((await runner.next()).message?.$case === "welcome", `runner ${name.slice(0, 10)}… was not welcomed`);
        connected.push(runner);
      }
      try {
        await runnersListed(own.runners, [longName, "b-runner"]); // their rows commit after the welcomes
        const first = await invoke(rpc(own.runners, "listRunners"), { pageSize: 1, pageToken: "", labelSelector: "" });
        must(
          first.ok && first.value.runners[0]?.name === longName && first.value.nextPageToken,
          `first page: ${first.ok ? show(first.value) : describeAnswer(first.error)}`,
        );
        const second = await invoke(rpc(own.runners, "listRunners"), {
          pageSize: 1,
          pageToken: first.value.nextPageToken,
          labelSelector: "",
        });
        must(
          second.ok,
          `ListRunners with the next_page_token it just issued: ${second.ok ? "" : describeAnswer(second.error)}`,
        );
        expect(second.value.runners.map((r) => r.name)).toEqual(["b-runner"]);
      } finally {
        for (const runner of connected) runner.stream.end();
      }
    });

    it("a refused batch names the failing request in request_index, also for SIGNATURE_INVALID", async () => {
      const exec = { $case: "subprocess" as const, value: { command: "echo", args: [], env: {}, workingDir: "" } };
      const plain = TaskSpec.fromPartial({
        exec,
      });
      const signed = { ...plain, signature: { keyId: "k", signature: Buffer.alloc(64) } };
      const result = await invoke(rpc(own.tasks, "batchSubmitTasks"), {
        requests: [
          { spec: plain, requestId: "" },
          { spec: signed, requestId: "" },
        ],
        returnPartialSuccess: false,
      });
      must(!result.ok, "a batch with a badly signed spec was accepted");
      const d = decodeAnswer(result.error);
      expect({ code: status[d.code], reason: d.reason, request_index: d.metadata.request_index }).toEqual({
        code: "PERMISSION_DENIED",
        reason: ErrorReason.SIGNATURE_INVALID,
        request_index: "1",
      });
    });
  });

  // ------------------------------------------------------------ after everything
  it("after all of it: the server is healthy, logged no errors, and nothing was left unhandled", async () => {
    await expectServing();
    await expectAlive("at the end");
    const list = await invoke(rpc(tasks, "listTasks"), { pageSize: 5, pageToken: "" });
    must(list.ok, `ListTasks at the end: ${list.ok ? "" : describeAnswer(list.error)}`);
    expect(unhandled.map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e)))).toEqual([]);
    expect(serverErrors).toEqual([]);
  });
});

// ---------------------------------------------------------------- raw methods

interface RawMethod {
  path: string;
  kind: "unary" | "serverStream" | "bidi";
  /** Valid encodings to mutate. */
  seed: fc.Arbitrary<Uint8Array>;
  /** Decodes a response body; must not throw for anything the server sends. */
  decode: (bytes: Uint8Array) => unknown;
}

const encode =
  <T>(codec: { encode(message: T): { finish(): Uint8Array } }) =>
  (message: T) =>
    codec.encode(message).finish();
const safeEncode = <T>(arb: fc.Arbitrary<T>, codec: { encode(message: T): { finish(): Uint8Array } }) =>
  arb.map((message) => {
    try {
      return encode(codec)(message);
    } catch {
      return new Uint8Array(); // a value the client itself cannot encode: send the empty message instead
    }
  });

function rawMethods(): RawMethod[] {
  const taskId = idRecipe.map((r) => resolveId(r, taskPool));
  const runnerId = idRecipe.map((r) => resolveId(r, runnerPool));
  const filter = taskFilterCase.map((c) => c.filter);
  const T = "/supervisor.v1.TaskService/";
  const R = "/supervisor.v1.RunnerService/";
  return [
    {
      path: `${T}SubmitTask`,
      kind: "unary",
      seed: safeEncode(
        anySubmit.map((c) => c.request),
        SubmitTaskRequest,
      ),
      decode: (b) => SubmitTaskResponse.decode(b),
    },
    {
      path: `${T}BatchSubmitTasks`,
      kind: "unary",
      seed: safeEncode(
        batchCase.filter((c) => c.request.requests.length <= 10).map((c) => c.request),
        BatchSubmitTasksRequest,
      ),
      decode: (b) => BatchSubmitTasksResponse.decode(b),
    },
    {
      path: `${T}GetTask`,
      kind: "unary",
      seed: safeEncode(
        taskId.map((id) => ({ id })),
        GetTaskRequest,
      ),
      decode: (b) => GetTaskResponse.decode(b),
    },
    {
      path: `${T}ListTasks`,
      kind: "unary",
      seed: safeEncode(
        fc.record({
          filter,
          pageSize: pageSizeArb,
          pageToken: fc.oneof(fc.constant(""), fc.constant(otherListToken), anyString),
        }),
        ListTasksRequest,
      ),
      decode: (b) => ListTasksResponse.decode(b),
    },
    {
      path: `${T}WatchTasks`,
      kind: "serverStream",
      seed: safeEncode(fc.record({ sinceRevision: safeInt64, filter, sendInitial: fc.boolean() }), WatchTasksRequest),
      decode: (b) => WatchTasksResponse.decode(b),
    },
    {
      path: `${T}CancelTask`,
      kind: "unary",
      seed: safeEncode(fc.record({ id: taskId, reason: anyString }), CancelTaskRequest),
      decode: (b) => CancelTaskResponse.decode(b),
    },
    {
      path: `${T}CancelTasks`,
      kind: "unary",
      // Never `all` in the seed: a filter that narrows nothing is refused, and the seeded tasks keep their states.
      seed: safeEncode(
        fc.record({ filter, reason: anyString, dryRun: fc.boolean(), all: fc.constant(false) }),
        CancelTasksRequest,
      ),
      decode: (b) => CancelTasksResponse.decode(b),
    },
    {
      path: `${T}RerunTask`,
      kind: "unary",
      seed: safeEncode(fc.record({ id: taskId, requestId: fc.oneof(fc.constant(""), anyString) }), RerunTaskRequest),
      decode: (b) => RerunTaskResponse.decode(b),
    },
    {
      path: `${T}StreamTaskOutput`,
      kind: "serverStream",
      seed: safeEncode(
        fc.record({ taskId, attempt: int32, follow: fc.boolean(), sinceSeq: safeInt64 }),
        StreamTaskOutputRequest,
      ),
      decode: (b) => StreamTaskOutputResponse.decode(b),
    },
    {
      path: `${T}ListTaskRuns`,
      kind: "unary",
      seed: safeEncode(
        fc.record({ taskId, pageSize: pageSizeArb, pageToken: fc.oneof(fc.constant(""), anyString) }),
        ListTaskRunsRequest,
      ),
      decode: (b) => ListTaskRunsResponse.decode(b),
    },
    {
      path: `${R}ListRunners`,
      kind: "unary",
      seed: safeEncode(
        fc.record({ pageSize: pageSizeArb, pageToken: fc.constant(""), labelSelector: anySelector }),
        ListRunnersRequest,
      ),
      decode: (b) => ListRunnersResponse.decode(b),
    },
    {
      path: `${R}DrainRunner`,
      kind: "unary",
      seed: safeEncode(
        runnerId.map((id) => ({ runnerId: id })),
        DrainRunnerRequest,
      ),
      decode: (b) => DrainRunnerResponse.decode(b),
    },
    {
      path: `${R}Connect`,
      kind: "bidi",
      seed: safeEncode(
        fc
          .oneof(
            firstStep.map((f) =>
              f.kind === "other" ? toConnectMessage(f.step, []) : { $case: "hello" as const, value: f.hello },
            ),
            runnerStep.map((s) => toConnectMessage(s, [])),
          )
          .map((message) => ({ message })),
        ConnectRequest,
      ),
      decode: (b) => ConnectResponse.decode(b),
    },
  ];
}

function rawCase(methods: RawMethod[]) {
  return fc.integer({ min: 0, max: methods.length - 1 }).chain((method) => {
    const body = rawBody(methods[method]!.seed);
    const frames =
      methods[method]!.kind === "bidi" ? fc.array(body, { minLength: 1, maxLength: 3 }) : body.map((b) => [b]);
    return frames.map((f) => ({ method, frames: f }));
  });
}

/** Sends raw frames; returns the error answer (undefined for OK), after checking every response body decodes. */
async function sendRaw(m: RawMethod, frames: Uint8Array[], where: string): Promise<Answer | undefined> {
  const decodeAll = (bodies: Buffer[]) => {
    for (const body of bodies) {
      try {
        m.decode(body);
      } catch (error) {
        throw new CaseFailure(
          `${where}: the server sent a response the generated client cannot decode (${(error as Error).message})`,
        );
      }
    }
  };
  if (m.kind === "unary") {
    const result = await rawUnary(m.path, frames[0]!);
    if (!result.ok) return result.error;
    decodeAll([result.value]);
    return undefined;
  }
  if (m.kind === "serverStream") {
    const stream = raw.makeServerStreamRequest(m.path, identity, identity, Buffer.from(frames[0]!), new Metadata(), {});
    const result = await readStream<Buffer>(stream, 3, 300, 100);
    decodeAll(result.messages);
    return streamAnswer(result, where);
  }
  const stream = raw.makeBidiStreamRequest(m.path, identity, identity, new Metadata(), {});
  const reading = readStream<Buffer>(stream, 10_000, 3000, 500);
  for (const frame of frames) stream.write(Buffer.from(frame));
  stream.end();
  const result = await reading;
  decodeAll(result.messages);
  return streamAnswer(result, where);
}

/** A stream's outcome as an Answer: undefined when it ended OK or we ended it; fails when it hung. */
function streamAnswer(result: StreamResult<unknown>, where: string): Answer | undefined {
  if (!result.status) throw new CaseFailure(`${where}: the stream did not end even after it was cancelled`);
  if (result.status.code === status.OK) return undefined;
  if (result.status.code === status.CANCELLED && result.cancelledByUs) return undefined;
  return result.status;
}

// ---------------------------------------------------------------- property 3: reads

const readOp = fc.oneof(
  fc.record({ method: fc.constant("getTask" as const), id: idRecipe }),
  fc.record({
    method: fc.constant("cancelTask" as const),
    id: idRecipe,
    reason: fc.oneof(fc.constant(""), anyString, fc.constantFrom("r".repeat(1024), "r".repeat(1025))),
  }),
  fc.record({ method: fc.constant("listTaskRuns" as const), id: idRecipe, pageSize: pageSizeArb, token: tokenRecipe }),
  fc.record({
    method: fc.constant("streamTaskOutput" as const),
    id: idRecipe,
    attempt: fc.oneof(fc.constantFrom(0, 1, 2, 3), int32),
    follow: fc.boolean(),
    sinceSeq: fc.oneof(fc.constantFrom(0, 0, 3, 12), safeInt64),
  }),
  fc.record({
    method: fc.constant("listTasks" as const),
    filter: taskFilterCase,
    pageSize: pageSizeArb,
    token: tokenRecipe,
  }),
  fc.record({
    method: fc.constant("watchTasks" as const),
    filter: taskFilterCase,
    since: revisionRecipe,
    sendInitial: fc.boolean(),
  }),
  fc.record({
    method: fc.constant("listRunners" as const),
    selector: selectorCase,
    pageSize: pageSizeArb,
    token: tokenRecipe,
  }),
  fc.record({ method: fc.constant("drainRunner" as const), id: idRecipe }),
);
type ReadOp = typeof readOp extends fc.Arbitrary<infer T> ? T : never;

type IdClass = "malformed" | "fresh" | "known" | "maybe";
function classifyId(recipe: IdRecipe, pool: readonly string[], id: string): IdClass {
  if (!UUID.test(id)) return "malformed";
  if (pool.includes(id)) return "known";
  if (recipe.kind === "uuid") return "fresh";
  return "maybe";
}

/** Whether a filter's fields are all valid; undefined when the selector's validity is unknown. */
function filterValidity({ filter, selector }: FilterCase): boolean | undefined {
  if (!filter) return true;
  const phasesOk = filter.phases.every((p) => p >= 1 && p <= 7);
  const lengthsOk = filter.slot.length <= 253 && filter.runnerId.length <= 253;
  if (!phasesOk || !lengthsOk) return false;
  return selector.known === "valid" ? true : undefined;
}

type TokenValidity = "valid" | "invalid" | "unknown";
async function resolveToken(
  recipe: TokenRecipe,
  sameFilterToken: () => Promise<string>,
): Promise<{ token: string; validity: TokenValidity }> {
  switch (recipe.kind) {
    case "none":
      return { token: "", validity: "valid" };
    case "literal":
      return { token: recipe.value, validity: recipe.value === "" ? "valid" : "invalid" };
    case "real":
      return recipe.from === "same"
        ? { token: await sameFilterToken(), validity: "valid" }
        : { token: otherListToken, validity: "unknown" };
    case "realEdited": {
      const real = recipe.from === "same" ? await sameFilterToken() : otherListToken;
      const edited = real === "" ? "" : applyStringEdit(real, recipe.edit);
      return { token: edited, validity: edited === "" ? "valid" : "unknown" };
    }
    case "forged": {
      const real = recipe.from === "same" ? await sameFilterToken() : otherListToken;
      return { token: forgeToken(real, recipe.after, recipe.v), validity: "unknown" };
    }
  }
}

const effectivePageSize = (n: number) => (n === 0 ? 50 : Math.min(n, 1000));

async function runReadOp(P: string, op: ReadOp): Promise<void> {
  const where = `${op.method}(${show(op).slice(0, 400)})`;
  switch (op.method) {
    case "getTask": {
      const id = resolveId(op.id, taskPool);
      const kind = classifyId(op.id, taskPool, id);
      const result = await invoke(rpc(tasks, "getTask"), { id });
      const expected =
        kind === "malformed"
          ? status.INVALID_ARGUMENT
          : kind === "fresh"
            ? status.NOT_FOUND
            : kind === "known"
              ? "OK"
              : undefined;
      const verdict = judge(P, where, result.ok ? undefined : result.error, {
        allowed: [status.INVALID_ARGUMENT, status.NOT_FOUND],
        expected,
        fields: ["id"],
      });
      if (verdict?.code === status.NOT_FOUND)
        must(
          verdict.reason === ErrorReason.TASK_NOT_FOUND && verdict.metadata.task_id === id,
          `${where}: NOT_FOUND must be TASK_NOT_FOUND naming the id: ${describeAnswer(verdict)}`,
        );
      if (result.ok)
        must(result.value.task?.id === id, `${where}: GetTask answered another task: ${result.value.task?.id}`);
      return;
    }
    case "cancelTask": {
      const id = resolveId(op.id, taskPool);
      const kind = classifyId(op.id, taskPool, id);
      const result = await invoke(rpc(tasks, "cancelTask"), { id, reason: op.reason });
      const expected =
        kind === "malformed" || op.reason.length > 1024
          ? status.INVALID_ARGUMENT
          : kind === "fresh"
            ? status.NOT_FOUND
            : undefined;
      const verdict = judge(P, where, result.ok ? undefined : result.error, {
        allowed: [status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION],
        expected,
        fields: ["id", "reason"],
      });
      if (verdict?.code === status.FAILED_PRECONDITION)
        must(
          verdict.reason === ErrorReason.TASK_TERMINAL && verdict.metadata.task_id === id && verdict.metadata.phase,
          `${where}: TASK_TERMINAL must name the task and its phase: ${describeAnswer(verdict)}`,
        );
      if (result.ok) {
        const task = result.value.task;
        must(task?.id === id, `${where}: CancelTask answered another task`);
        const phase = task.status?.phase;
        must(
          phase === TaskPhase.TASK_PHASE_CANCELED ||
            (phase === TaskPhase.TASK_PHASE_RUNNING && task.status?.cancelRequested),
          `${where}: after CancelTask the task must be CANCELED or RUNNING with cancel_requested: ${show(task.status)}`,
        );
      }
      return;
    }
    case "listTaskRuns": {
      const taskId = resolveId(op.id, taskPool);
      const kind = classifyId(op.id, taskPool, taskId);
      const { token, validity } = await resolveToken(op.token, async () => {
        const first = await invoke(rpc(tasks, "listTaskRuns"), { taskId, pageSize: 1, pageToken: "" });
        return first.ok ? first.value.nextPageToken : "";
      });
      const result = await invoke(rpc(tasks, "listTaskRuns"), { taskId, pageSize: op.pageSize, pageToken: token });
      const invalid = kind === "malformed" || op.pageSize < 0 || validity === "invalid";
      const expected = invalid
        ? status.INVALID_ARGUMENT
        : validity === "valid"
          ? kind === "fresh"
            ? status.NOT_FOUND
            : kind === "known"
              ? "OK"
              : undefined
          : undefined;
      judge(P, where, result.ok ? undefined : result.error, {
        allowed: [status.INVALID_ARGUMENT, status.NOT_FOUND],
        expected,
        fields: ["task_id", "page_size", "page_token"],
      });
      if (result.ok) {
        const runs = result.value.runs;
        must(
          runs.length <= effectivePageSize(op.pageSize),
          `${where}: ${runs.length} runs for page size ${op.pageSize}`,
        );
        must(
          runs.every((r, i) => r.taskId === taskId && (i === 0 || r.attempt > runs[i - 1]!.attempt)),
          `${where}: runs must belong to the task, oldest first: ${show(runs.map((r) => [r.taskId, r.attempt]))}`,
        );
      }
      return;
    }
    case "streamTaskOutput": {
      const taskId = resolveId(op.id, taskPool);
      const kind = classifyId(op.id, taskPool, taskId);
      const result = await readStream(
        tasks.streamTaskOutput({ taskId, attempt: op.attempt, follow: op.follow, sinceSeq: op.sinceSeq }),
        4,
        300,
        100,
      );
      const answer = streamAnswer(result, where);
      const expected =
        kind === "malformed" || op.attempt < 0 || op.sinceSeq < 0
          ? status.INVALID_ARGUMENT
          : kind === "fresh"
            ? status.NOT_FOUND
            : undefined;
      const verdict = judge(P, where, answer, {
        allowed: [status.INVALID_ARGUMENT, status.NOT_FOUND, status.RESOURCE_EXHAUSTED],
        expected: expected,
        fields: ["task_id", "attempt", "since_seq"],
      });
      if (verdict?.code === status.NOT_FOUND && verdict.reason === ErrorReason.TASK_NOT_FOUND)
        must(kind !== "known", `${where}: TASK_NOT_FOUND for a task that exists`);
      let lastSeq = op.sinceSeq;
      for (const message of result.messages) {
        const event = message.event;
        must(event, `${where}: an output event without content`);
        if (event.$case === "chunk") {
          must(event.value.seq > lastSeq, `${where}: chunk seq ${event.value.seq} not after ${lastSeq}`);
          lastSeq = event.value.seq;
        }
      }
      return;
    }
    case "listTasks": {
      const validity = filterValidity(op.filter);
      const filter = op.filter.filter;
      const { token, validity: tokenValidity } = await resolveToken(op.token, async () => {
        const first = await invoke(rpc(tasks, "listTasks"), { filter, pageSize: 1, pageToken: "" });
        return first.ok ? first.value.nextPageToken : "";
      });
      const result = await invoke(rpc(tasks, "listTasks"), { filter, pageSize: op.pageSize, pageToken: token });
      const invalid = validity === false || op.pageSize < 0 || tokenValidity === "invalid";
      const expected = invalid
        ? status.INVALID_ARGUMENT
        : validity === true && tokenValidity === "valid"
          ? "OK"
          : undefined;
      judge(P, where, result.ok ? undefined : result.error, {
        allowed: [status.INVALID_ARGUMENT],
        expected,
        fields: ["filter", "page_size", "page_token"],
      });
      if (result.ok) checkTaskPage(result.value, filter, op.pageSize, where);
      return;
    }
    case "watchTasks": {
      const validity = filterValidity(op.filter);
      const head = (await unwrap(invoke(rpc(tasks, "listTasks"), { pageSize: 1, pageToken: "" }))).revision;
      const since =
        op.since.kind === "absolute"
          ? op.since.value
          : Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, head + op.since.delta));
      const result = await readStream(
        tasks.watchTasks({ sinceRevision: since, filter: op.filter.filter, sendInitial: op.sendInitial }),
        3,
        2000,
        150,
      );
      const answer = streamAnswer(result, where);
      const invalid = since < 0 || validity === false || (!op.sendInitial && since >= head + 1000);
      const expected = invalid
        ? status.INVALID_ARGUMENT
        : validity === true && (op.sendInitial || since === 0)
          ? "OK"
          : undefined;
      const verdict = judge(P, where, answer, {
        allowed: [status.INVALID_ARGUMENT, status.OUT_OF_RANGE, status.RESOURCE_EXHAUSTED],
        expected,
        fields: ["since_revision", "filter"],
      });
      if (verdict?.code === status.OUT_OF_RANGE)
        must(
          !op.sendInitial && since > 0 && Number(verdict.metadata.oldest_revision) > since,
          `${where}: REVISION_COMPACTED must be for an old since_revision and name the oldest kept: ${describeAnswer(verdict)}`,
        );
      if (expected === "OK")
        must(result.messages.length > 0, `${where}: a valid watch sent nothing within 2 s (not even a BOOKMARK)`);
      // send_initial: ADDED events, then the first BOOKMARK; after that (or without it) revisions only grow.
      let initial = op.sendInitial;
      let last = since;
      for (const event of result.messages) {
        must(event.type >= 1 && event.type <= 4, `${where}: unknown event type ${event.type}`);
        if (initial) {
          if (event.type === 4) {
            initial = false;
            last = event.revision;
          } else
            must(event.type === 1 && event.task, `${where}: initial events must be ADDED with a task: ${show(event)}`);
          continue;
        }
        if (event.type === 4) must(event.revision >= last, `${where}: BOOKMARK ${event.revision} before ${last}`);
        else must(event.revision > last && event.task, `${where}: event revision ${event.revision} not after ${last}`);
        last = event.revision;
      }
      return;
    }
    case "listRunners": {
      const { token, validity } = await resolveToken(op.token, async () => {
        const first = await invoke(rpc(runners, "listRunners"), {
          pageSize: 1,
          pageToken: "",
          labelSelector: op.selector.text,
        });
        return first.ok ? first.value.nextPageToken : "";
      });
      const result = await invoke(rpc(runners, "listRunners"), {
        pageSize: op.pageSize,
        pageToken: token,
        labelSelector: op.selector.text,
      });
      const invalid = op.pageSize < 0 || validity === "invalid";
      const expected = invalid
        ? status.INVALID_ARGUMENT
        : op.selector.known === "valid" && validity === "valid"
          ? "OK"
          : undefined;
      judge(P, where, result.ok ? undefined : result.error, {
        allowed: [status.INVALID_ARGUMENT],
        expected,
        fields: ["label_selector", "page_size", "page_token"],
      });
      if (result.ok) {
        const names = result.value.runners.map((r) => r.name);
        must(
          names.length <= effectivePageSize(op.pageSize),
          `${where}: ${names.length} runners for page size ${op.pageSize}`,
        );
        must(
          names.every((n, i) => i === 0 || n > names[i - 1]!),
          `${where}: runners must be ordered by name: ${show(names)}`,
        );
      }
      return;
    }
    case "drainRunner": {
      const runnerId = resolveId(op.id, runnerPool);
      const known = runnerPool.includes(runnerId);
      const result = await invoke(rpc(runners, "drainRunner"), { runnerId });
      const expected =
        runnerId === "" ? status.INVALID_ARGUMENT : known ? "OK" : op.id.kind === "uuid" ? status.NOT_FOUND : undefined;
      const verdict = judge(P, where, result.ok ? undefined : result.error, {
        allowed: [status.INVALID_ARGUMENT, status.NOT_FOUND],
        expected,
        fields: ["runner_id"],
      });
      if (verdict?.code === status.NOT_FOUND)
        must(
          verdict.reason === ErrorReason.RUNNER_NOT_FOUND && verdict.metadata.runner_id === wire(runnerId),
          `${where}: NOT_FOUND must be RUNNER_NOT_FOUND naming the id`,
        );
      if (result.ok) must(result.value.runner?.id === runnerId, `${where}: DrainRunner answered another runner`);
      return;
    }
  }
}

function checkTaskPage(page: ListTasksResponse, filter: TaskFilter | undefined, pageSize: number, where: string) {
  const ids = page.tasks.map((t) => t.id);
  must(ids.length <= effectivePageSize(pageSize), `${where}: ${ids.length} tasks for page size ${pageSize}`);
  must(
    ids.every((id, i) => i === 0 || id < ids[i - 1]!),
    `${where}: tasks must be newest first (ids descending)`,
  );
  for (const task of page.tasks) {
    must(
      task.revision <= page.revision,
      `${where}: task ${task.id} has revision ${task.revision}, newer than the page's ${page.revision}`,
    );
    if (filter?.slot)
      must(
        task.spec?.slot === filter.slot,
        `${where}: task ${task.id} has slot ${task.spec?.slot}, filter ${filter.slot}`,
      );
    if (filter?.phases.length)
      must(
        filter.phases.includes(task.status!.phase),
        `${where}: task ${task.id} is in phase ${task.status?.phase}, filter ${show(filter.phases)}`,
      );
    if (filter?.runnerId)
      must(
        task.status?.runnerId === filter.runnerId,
        `${where}: task ${task.id} ran on ${task.status?.runnerId}, filter ${filter.runnerId}`,
      );
  }
}

// ---------------------------------------------------------------- property 4: Connect

/** A run result nested past the bound may be past the decoders' depth limit too (each JSON level is three protobuf levels). */
const undecodableStep = (step: RunnerStep): boolean =>
  step.kind === "batch"
    ? step.items.some(undecodableStep)
    : step.kind === "runFinished" && step.result !== undefined && jsonNesting(step.result) > MAX_JSON_NESTING;
/** Output over the documented 64 KiB per message breaks the protocol, alone or in a batch. */
const oversizedOutput = (step: RunnerStep): boolean =>
  step.kind === "batch" ? step.items.some(oversizedOutput) : step.kind === "output" && step.data.length > 64 * 1024;

async function runConnectCase(P: string, first: FirstStep, steps: RunnerStep[]): Promise<void> {
  const where = `Connect(${show({ first, steps }).slice(0, 600)})`;
  const stream = runners.connect();
  const received: ConnectResponse[] = [];
  const assigned: string[] = [];
  let final: StatusObject | undefined;
  const ended = new Promise<void>((resolve) => {
    stream.on("status", (s: StatusObject) => {
      final = s;
      resolve();
    });
  });
  stream.on("error", () => {});
  let wake: (() => void) | undefined;
  stream.on("data", (message: ConnectResponse) => {
    received.push(message);
    const body = message.message;
    if (body?.$case === "assign") assigned.push(body.value.runId);
    // A runner that said accepts_batches may get its assigns several to a message.
    if (body?.$case === "batch") {
      for (const item of body.value.items)
        if (item.message?.$case === "assign") assigned.push(item.message.value.runId);
    }
    wake?.();
  });
  /** Waits until `until()` holds or the stream ends, at most `ms`: looked at again on each message. */
  const waitFor = async (until: () => boolean, ms: number) => {
    let expired = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      // bound: gives up on the wait
      timer = setTimeout(() => {
        expired = true;
        resolve();
      }, ms);
    });
    while (!until() && !final && !expired) {
      await Promise.race([ended, deadline, new Promise<void>((resolve) => (wake = resolve))]);
    }
    clearTimeout(timer);
  };
  const endOf = async (ms = CALL_DEADLINE_MS) => {
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, ms))]); // bound: on the stream's end
    if (!final) {
      stream.cancel();
      throw new CaseFailure(`${where}: the stream did not end within ${ms} ms`);
    }
    return final.code === status.OK ? undefined : final;
  };
  const CONNECT_CODES = [status.INVALID_ARGUMENT, status.FAILED_PRECONDITION];
  try {
    const firstMessage =
      first.kind === "other" ? toConnectMessage(first.step, []) : { $case: "hello" as const, value: first.hello };
    stream.write({ message: firstMessage });
    if (first.kind === "other") {
      // Not a hello: a protocol violation, unless the message does not even decode.
      judge(P, where, await endOf(), {
        allowed: CONNECT_CODES,
        expected: undecodableStep(first.step) ? undefined : status.FAILED_PRECONDITION,
        fields: [],
      });
      must(received.length === 0, `${where}: the supervisor sent ${received.length} messages before refusing`);
      return;
    }
    await waitFor(() => received.length > 0, CALL_DEADLINE_MS);
    if (received.length === 0) {
      const verdict = judge(P, where, await endOf(), {
        allowed: CONNECT_CODES,
        expected: first.kind === "validHello" ? "OK" : undefined,
        fields: ["hello"],
      });
      if (verdict)
        must(
          verdict.code === status.INVALID_ARGUMENT,
          `${where}: a bad hello must be INVALID_ARGUMENT: ${describeAnswer(verdict)}`,
        );
      return;
    }
    const welcome = received[0]!.message;
    must(
      welcome?.$case === "welcome" && UUID.test(welcome.value.runnerId),
      `${where}: the first message must be a welcome: ${show(received[0])}`,
    );
    count(P, "welcomed");
    if (!runnerPool.includes(welcome.value.runnerId)) runnerPool.push(welcome.value.runnerId);
    let protocolBroken = false;
    /** A result nested past the decoders' limit makes its message undecodable: the stream may end INVALID_ARGUMENT. */
    let sentTooDeep = false;
    for (const step of steps) {
      if (final) break;
      // scenario pause: the fuzzed runner's pace; assigns arriving meanwhile become "assigned" run-id choices
      await new Promise((resolve) => setTimeout(resolve, 2));
      stream.write({ message: toConnectMessage(step, assigned) });
      if (undecodableStep(step)) sentTooDeep = true;
      // A second hello, or output over the documented 64 KiB per message, breaks the protocol.
      if (step.kind === "hello" || oversizedOutput(step)) {
        protocolBroken = true;
        break;
      }
    }
    if (!protocolBroken) stream.end();
    const answer = await endOf();
    const verdict = judge(P, where, answer, {
      allowed: [...CONNECT_CODES, status.UNAVAILABLE, ...(sentTooDeep ? [status.INVALID_ARGUMENT] : [])],
      expected:
        sentTooDeep || answer?.code === status.UNAVAILABLE
          ? undefined
          : protocolBroken
            ? status.FAILED_PRECONDITION
            : "OK",
      fields: [],
    });
    if (verdict?.code === status.UNAVAILABLE)
      must(
        verdict.reason === ErrorReason.LEASE_EXPIRED,
        `${where}: only an expired lease may end a live runner stream with UNAVAILABLE`,
      );
    const batches = first.hello.acceptsBatches;
    for (const message of received.slice(1)) {
      must(
        message.message &&
          ["assign", "cancel", "drain", "ack", ...(batches ? ["batch"] : [])].includes(message.message.$case),
        `${where}: unexpected supervisor message after the welcome: ${show(message)}`,
      );
    }
  } finally {
    if (!final) stream.cancel();
  }
}
