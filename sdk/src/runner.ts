import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import {
  type ChannelCredentials,
  type ClientDuplexStream,
  credentials as grpcCredentials,
  Metadata,
} from "@grpc/grpc-js";
import { DEFAULT_RECONNECT_BACKOFF, jitteredDelayMs, type RetryBackoff, sleep } from "./backoff.js";
import { CHANNEL_DEFAULTS } from "./client.js";
import { SupervisorError } from "./errors.js";
import { createContainerExecutor } from "./executors/container/executor.js";
import {
  type ContainerRuntimeChoice,
  detectContainerRuntime,
  type RuntimeDetection,
} from "./executors/container/runtime.js";
import { type EmbeddedHandler, EmbeddedRegistry } from "./executors/embedded.js";
import { createSubprocessExecutor } from "./executors/subprocess.js";
import type { ExecutionContext, ExecutionResult, Executor, OutputStreamName } from "./executors/types.js";
import { wasmExecutor } from "./executors/wasm.js";
import { OutputStream } from "./gen/supervisor/v1/run.js";
import {
  ConnectRequest,
  type ConnectRequest_RunFinished,
  type ConnectResponse,
  type ConnectResponse_Ack,
  type ConnectResponse_Assign,
  type RunnerServiceClient,
  RunOutcome,
} from "./gen/supervisor/v1/runner_service.js";
import type { ContainerExec, SubprocessExec, WasmExec } from "./gen/supervisor/v1/task.js";
import { jsonLimitProblem } from "./json-limits.js";
import { ErrorReason } from "./reasons.js";
import { MAX_BATCH_ITEMS } from "./runner/batch-wire.js";
import { CoalescingWriter } from "./runner/coalescing-writer.js";
import { RunnerConnectClient } from "./runner/connect-client.js";
import { withInitSteps } from "./runner/init-steps.js";
import { RetainedOutput } from "./runner/retained-output.js";
import { withRetryAfterFile } from "./runner/retry-after-file.js";
import { runSpan } from "./runner/run-span.js";
import { signatureProblem, trustedKeysFrom } from "./signing.js";
import { SYSTEM_TIMERS, type Timer } from "./timers.js";

/** The container kind of a runner (RunnerOptions.container). */
export interface RunnerContainerOptions {
  /**
   * Which runtime runs container tasks, tried once when the runner starts: "auto" (default) takes
   * the first of podman, docker and bwrap whose trial run works; a name uses that one only if its
   * trial works; "none" turns the kind off. Without a working runtime, `container` is not advertised.
   */
  runtime?: ContainerRuntimeChoice;
  /** Where .tar images are unpacked for bwrap (kept, reused while the tar is unchanged). */
  imageDir?: string;
}

export interface RunnerOptions {
  /** host:port of the supervisor. */
  address: string;
  /** Unique runner name. While another live runner holds it, this one is refused and stops. */
  name: string;
  labels?: Record<string, string>;
  /** Runs at once. Default 1. */
  capacity?: number;
  /**
   * Kinds to advertise. Default: subprocess, wasm, container (when a container runtime works), and
   * every registered handler. "container" is left out, even when listed, if no runtime works.
   */
  kinds?: string[];
  version?: string;
  credentials?: ChannelCredentials;
  /** Reconnect backoff (capped, full jitter). */
  reconnect?: RetryBackoff;
  /** SIGTERM → SIGKILL grace when the supervisor does not say. Default 10 s. */
  gracePeriodMs?: number;
  /** ed25519 keys that may sign specs ({ keyId: PEM or base64 }); a signed spec is always verified. */
  trustedKeys?: Record<string, string>;
  /** Refuse to run any spec that is not signed by a trusted key. */
  requireSignatures?: boolean;
  /** Bearer token for the supervisor. */
  token?: string;
  /** On stop(), how long to wait for the supervisor to acknowledge runs that ended. Default 10 s. */
  ackWaitMs?: number;
  /**
   * Batched messages, when the supervisor supports them: reports made within
   * one turn of the event loop go in one message, and the supervisor may send
   * several assigns in one. Default true; false keeps one message each (as a
   * runner written before batches), for tests and debugging.
   */
  batching?: boolean;
  /**
   * Where a run's logs are kept outside the supervisor (Run.log_url), sent with the run's start: e.g.
   * `(assign) => \`https://logs.example/\${assign.taskId}/\${assign.attempt}\``. Undefined or "" = none.
   * An embedded handler may set (or change) it during the run with `ctx.setLogUrl`.
   */
  logUrl?: (assign: ConnectResponse_Assign) => string | undefined;
  /** Runs the main exec of subprocess tasks, and every task's init steps. */
  subprocess?: Executor<SubprocessExec>;
  wasm?: Executor<WasmExec>;
  container?: RunnerContainerOptions;
  log?: (line: string) => void;
}

/** The largest output piece sent in one message (the supervisor refuses more). */
const MAX_OUTPUT_MESSAGE = 64 * 1024;
/** Output kept per run until acknowledged, before the supervisor says its cap. */
const DEFAULT_RETAINED_BYTES = 1 << 20;
/** A batch of reports is sent at this many bytes (well within the supervisor's 4 MiB per message). */
const MAX_BATCH_BYTES = 1 << 20;

/** Reports about runs: these may share a message; hello and heartbeats go alone. */
const isReport = (message: ConnectRequest): boolean => {
  const kind = message.message?.$case;
  return kind === "runStarted" || kind === "output" || kind === "runFinished";
};

/**
 * Refusals that no reconnect can fix: the runner stops and says why
 * (its `closed` promise resolves with the error).
 */
const FATAL_REASONS = new Set<string>([
  ErrorReason.RUNNER_REPLACED,
  ErrorReason.RUNNER_NAME_IN_USE,
  ErrorReason.RUNNER_NAME_FORBIDDEN,
  ErrorReason.ROLE_FORBIDDEN,
  ErrorReason.TOKEN_MISSING,
  ErrorReason.TOKEN_INVALID,
  ErrorReason.INVALID_REQUEST,
]);

/** A run this runner holds: executing, or ended and waiting for the supervisor's ack. */
interface LocalRun {
  assign: ConnectResponse_Assign;
  controller: AbortController;
  /** Aborted by kill(): stop at once, even a run already stopping. */
  killer: AbortController;
  seq: number;
  /** Bytes of output produced so far (the offset of the next chunk). */
  offset: number;
  gracePeriodMs: number;
  output: RetainedOutput;
  /** Set when it ended: the report to deliver until acknowledged. */
  finished?: ConnectRequest_RunFinished;
  /** Run.log_url as sent with the start (the options' logUrl), if any. */
  startLogUrl?: string;
  /** Run.log_url now: a handler may change it; sent with the end when it differs from the start's. */
  logUrl?: string;
}

/**
 * A runner process: connects, says hello, executes what it is assigned and
 * reports back. Every report (output, end) is kept until the supervisor
 * acknowledges it as committed, and sent again after a reconnect, so a run
 * that ends while the supervisor is away keeps its true outcome. Heartbeats
 * run on their own timer, apart from the work.
 */
export class Runner {
  readonly handlers = new EmbeddedRegistry();
  /** This process's id in hellos: a reconnect of this runner is told apart from another process with its name. */
  readonly instanceId = randomUUID();
  private readonly client: RunnerServiceClient;
  private readonly runs = new Map<string, LocalRun>();
  private stream: ClientDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  /** Where reports go on the live stream: batched when both sides accept it. */
  private outbox: CoalescingWriter<ConnectRequest> | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private welcomed?: { resolve: (runnerId: string) => void; reject: (error: unknown) => void };
  private readonly waiters = new Set<() => void>();
  private retainedBytes = DEFAULT_RETAINED_BYTES;
  private fatal: SupervisorError | undefined;
  private resolveClosed!: (error: SupervisorError | undefined) => void;
  /** Resolves when the runner has stopped: undefined after stop(), the refusal when the supervisor refused it. */
  readonly closed = new Promise<SupervisorError | undefined>((resolve) => (this.resolveClosed = resolve));
  /** The id the supervisor gave this runner (after the first welcome). */
  runnerId = "";
  draining = false;

  /** Set at start() when a container runtime works. */
  private containerExecutor: Executor<ContainerExec> | undefined;
  /** The container runtime found at start (or why there is none); undefined before start or when not looked for. */
  containerRuntime: RuntimeDetection | undefined;
  private readonly trustedKeys: Map<string, KeyObject>;
  private readonly metadata = new Metadata();

  constructor(private readonly options: RunnerOptions) {
    this.client = new RunnerConnectClient(
      options.address,
      options.credentials ?? grpcCredentials.createInsecure(),
      CHANNEL_DEFAULTS,
    );
    this.trustedKeys = trustedKeysFrom(options.trustedKeys ?? {});
    if (options.token) this.metadata.set("authorization", `Bearer ${options.token}`);
  }

  /** Registers an embedded handler, run for tasks with `embedded{handler: name}`. */
  handle(name: string, handler: EmbeddedHandler): this {
    this.handlers.handle(name, handler);
    return this;
  }

  get kinds(): string[] {
    const container = this.containerExecutor ? ["container"] : [];
    const handlers = this.handlers.names().map((name) => `embedded:${name}`);
    const kinds = this.options.kinds ?? ["subprocess", "wasm", ...container, ...handlers];
    return this.containerExecutor ? kinds : kinds.filter((kind) => kind !== "container");
  }

  /**
   * Finds the container runtime, once, before the first hello: a runner advertises `container`
   * only when a trial run works. Skipped when the kinds given leave `container` out.
   */
  private async checkContainerRuntime(): Promise<void> {
    if (this.options.kinds && !this.options.kinds.includes("container")) return;
    const { runtime = "auto", imageDir } = this.options.container ?? {};
    const detection = await detectContainerRuntime(runtime);
    this.containerRuntime = detection;
    if (detection.runtime) this.containerExecutor = createContainerExecutor(detection.runtime, { imageDir });
    // Asked for by name and not working: worth a line. On "auto" the kinds say it (see containerRuntime).
    else if (runtime !== "auto" && runtime !== "none") this.log(`no container kind (${detection.reason})`);
  }

  /** Runs executing now. */
  get executing(): number {
    let count = 0;
    for (const run of this.runs.values()) if (!run.finished) count++;
    return count;
  }

  /**
   * Connects and resolves once the supervisor has welcomed the runner;
   * reconnects by itself afterwards. Rejects when the supervisor refuses it
   * (name in use, a token that may not, a bad hello).
   */
  start(): Promise<string> {
    const welcomed = new Promise<string>((resolve, reject) => (this.welcomed = { resolve, reject }));
    this.loop ??= this.checkContainerRuntime().then(() => this.connectLoop());
    return welcomed;
  }

  /**
   * Finishes the runs in hand (taking no new ones), waits (up to ackWaitMs)
   * until the supervisor has acknowledged their ends, then disconnects.
   */
  async stop(): Promise<void> {
    this.draining = true;
    await this.until(() => this.executing === 0);
    if (this.runs.size > 0 && !this.fatal) {
      const acked = this.until(() => this.runs.size === 0);
      const gaveUp = sleep(this.options.ackWaitMs ?? 10_000, this.stopping.signal).then(() => false);
      if ((await Promise.race([acked.then(() => true), gaveUp])) === false) {
        this.log(`${this.runs.size} ended run(s) not acknowledged by the supervisor; their outcome may be lost`);
      }
    }
    this.stopping.abort();
    this.outbox?.flush();
    this.stream?.end();
    await this.loop;
    this.client.close();
  }

  /** Stops every run now (SIGKILL to process groups, no grace), then stops. For a second Ctrl-C. */
  async kill(): Promise<void> {
    this.draining = true;
    for (const run of this.runs.values()) {
      if (run.finished) continue;
      run.gracePeriodMs = 0;
      run.controller.abort("the runner is shutting down");
      run.killer.abort();
    }
    await this.until(() => this.executing === 0);
    this.options.ackWaitMs ??= 2_000;
    await this.stop();
  }

  /** Resolves once `done()` holds; re-checked whenever a run ends or an ack arrives. */
  private async until(done: () => boolean): Promise<void> {
    while (!done() && !this.stopping.signal.aborted) {
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  private changed(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  private log(line: string): void {
    (this.options.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(`runner ${this.options.name}: ${line}`);
  }

  private async connectLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const outcome = await this.session();
      if (this.stopping.signal.aborted) break;
      const error = outcome.error ? SupervisorError.from(outcome.error) : undefined;
      if (error && FATAL_REASONS.has(error.reason)) {
        this.fatal = error;
        this.log(
          error.reason === ErrorReason.RUNNER_REPLACED
            ? `another runner with this name took over (${error.message}); stopping`
            : `refused by the supervisor: ${error.message}; stopping`,
        );
        this.welcomed?.reject(error);
        break;
      }
      failures = outcome.welcomed ? 1 : failures + 1;
      const delay = jitteredDelayMs(this.options.reconnect ?? DEFAULT_RECONNECT_BACKOFF, failures);
      this.log(`disconnected (${error ? error.message : "stream ended"}); reconnecting in ${delay} ms`);
      await sleep(delay, this.stopping.signal);
    }
    this.stopping.abort();
    this.changed();
    this.resolveClosed(this.fatal);
  }

  private get batching(): boolean {
    return this.options.batching ?? true;
  }

  /** One connection, from hello to the end of the stream. */
  private session(): Promise<{ welcomed: boolean; error?: unknown }> {
    return new Promise((resolve) => {
      const stream = this.client.connect(this.metadata);
      let heartbeat: Timer | undefined;
      let welcomed = false;
      let over = false;
      const done = (error?: unknown) => {
        if (over) return;
        over = true;
        heartbeat?.cancel();
        if (this.stream === stream) {
          this.stream = undefined;
          this.outbox?.discard(); // what was queued is kept with its run and sent again after a reconnect
          this.outbox = undefined;
        }
        resolve({ welcomed, error });
      };
      const receive = (body: NonNullable<ConnectResponse["message"]>) => {
        switch (body.$case) {
          case "welcome": {
            welcomed = true;
            this.runnerId = body.value.runnerId;
            if (body.value.outputCapBytes > 0) this.retainedBytes = body.value.outputCapBytes;
            this.stream = stream;
            this.outbox = this.writerFor(stream, this.batching && body.value.acceptsBatches);
            const interval = body.value.heartbeatInterval;
            const intervalMs = interval ? interval.seconds * 1000 + Math.floor(interval.nanos / 1e6) : 5_000;
            heartbeat = SYSTEM_TIMERS.every(Math.max(100, intervalMs), () =>
              this.write({ message: { $case: "heartbeat", value: {} } }),
            );
            this.resendUnacknowledged();
            this.welcomed?.resolve(this.runnerId);
            this.welcomed = undefined;
            return;
          }
          case "assign":
            return this.execute(body.value);
          case "cancel": {
            const run = this.runs.get(body.value.runId);
            if (!run || run.finished) return;
            const grace = body.value.gracePeriod;
            if (grace) run.gracePeriodMs = grace.seconds * 1000 + Math.floor(grace.nanos / 1e6);
            run.controller.abort(body.value.reason || "canceled");
            return;
          }
          case "drain":
            this.draining = true;
            return;
          case "ack":
            return this.acknowledged(body.value);
          case "batch":
            for (const item of body.value.items) if (item.message) receive(item.message);
            return;
        }
      };
      stream.on("data", (message: ConnectResponse) => {
        if (message.message) receive(message.message);
      });
      stream.on("error", (error) => done(error));
      stream.on("end", () => done());
      // Runs still executing, and runs ended but not acknowledged, are claimed again.
      const executing: string[] = [];
      const finished: string[] = [];
      for (const [runId, run] of this.runs) (run.finished ? finished : executing).push(runId);
      stream.write({
        message: {
          $case: "hello",
          value: {
            name: this.options.name,
            labels: this.options.labels ?? {},
            kinds: this.kinds,
            capacity: this.options.capacity ?? 1,
            version: this.options.version ?? "",
            activeRunIds: executing,
            instanceId: this.instanceId,
            finishedRunIds: finished,
            acceptsBatches: this.batching,
          },
        },
      });
    });
  }

  /**
   * The stream's writer. Batching, reports made within one turn of the event
   * loop share a message (none waits longer than that turn); heartbeats go
   * alone. Reports are encoded once, here, and written as those bytes.
   */
  private writerFor(
    stream: ClientDuplexStream<ConnectRequest, ConnectResponse>,
    batching: boolean,
  ): CoalescingWriter<ConnectRequest> {
    return new CoalescingWriter<ConnectRequest>({
      // RunnerConnectClient writes a Buffer as the wire bytes it is.
      write: (wire) => stream.write(wire as ConnectRequest),
      encode: (message) => ConnectRequest.encode(message).finish(),
      batchable: batching ? isReport : () => false,
      schedule: (flush) => setImmediate(flush),
      maxItems: MAX_BATCH_ITEMS,
      maxBytes: MAX_BATCH_BYTES,
    });
  }

  /** Writes to the live stream; without one the message is not needed (reports are kept and resent). */
  private write(message: ConnectRequest): void {
    this.outbox?.send(message);
  }

  /** After a (re)connect: every run's start, its unacknowledged output, and its end if it ended. */
  private resendUnacknowledged(): void {
    for (const [runId, run] of this.runs) {
      this.write(startedMessage(runId, run.startLogUrl));
      for (const chunk of run.output.pending) this.write(outputMessage(runId, chunk));
      if (run.finished) this.write({ message: { $case: "runFinished", value: run.finished } });
    }
  }

  private acknowledged(ack: ConnectResponse_Ack): void {
    for (const { runId, outputSeq, finished } of ack.runs) {
      const run = this.runs.get(runId);
      if (!run) continue;
      run.output.acknowledge(outputSeq);
      if (finished && run.finished) this.runs.delete(runId);
    }
    this.changed();
  }

  private execute(assign: ConnectResponse_Assign): void {
    if (this.runs.has(assign.runId)) return; // a duplicate assign after a reconnect
    const run: LocalRun = {
      assign,
      controller: new AbortController(),
      killer: new AbortController(),
      seq: 0,
      offset: 0,
      gracePeriodMs: this.options.gracePeriodMs ?? 10_000,
      output: new RetainedOutput(this.retainedBytes),
    };
    run.startLogUrl = run.logUrl = this.logUrlOf(assign);
    this.runs.set(assign.runId, run);
    this.write(startedMessage(assign.runId, run.startLogUrl));
    const onOutput = (stream: OutputStreamName, data: Buffer) => {
      const code = stream === "stdout" ? OutputStream.OUTPUT_STREAM_STDOUT : OutputStream.OUTPUT_STREAM_STDERR;
      for (let start = 0; start < data.length; start += MAX_OUTPUT_MESSAGE) {
        const piece = data.subarray(start, start + MAX_OUTPUT_MESSAGE);
        const chunk = { seq: ++run.seq, offset: run.offset, stream: code, data: piece };
        run.offset += piece.length;
        run.output.add(chunk);
        this.write(outputMessage(assign.runId, chunk));
      }
    };
    const span = runSpan(assign);
    const ctx = {
      traceparent: span.traceparent,
      traceContext: span.context,
      signal: run.controller.signal,
      killSignal: run.killer.signal,
      deadline: assign.deadline ?? new Date(Date.now() + 60_000),
      get gracePeriodMs() {
        return run.gracePeriodMs;
      },
      onOutput,
      setLogUrl: (url: string) => {
        if (!run.finished) run.logUrl = url;
      },
    };
    this.dispatch(assign, ctx)
      .catch(
        (error: unknown): ExecutionResult => ({
          outcome: "failed",
          error: `executor crashed: ${error instanceof Error ? error.message : String(error)}`,
        }),
      )
      .then((reported) => {
        // The supervisor refuses a result it could not serve back; say why here, where the handler's author looks.
        const problem = reported.result === undefined ? undefined : jsonLimitProblem(reported.result);
        const result: ExecutionResult = problem
          ? { outcome: "failed", exitCode: reported.exitCode, error: `result refused: ${problem}` }
          : reported;
        run.finished = {
          runId: assign.runId,
          exitCode: result.exitCode,
          outcome: OUTCOMES[result.outcome],
          error: result.error ?? "",
          result: result.result,
          outputBytes: run.offset,
          logUrl: run.logUrl !== run.startLogUrl ? run.logUrl : undefined,
          failedInitStep: result.failedInitStep,
          // The downstream asked to wait (a RetryAfter, or a program's retry-after file): deferred, not failed.
          retryAfter:
            result.outcome === "failed" && result.retryAfterMs !== undefined
              ? { seconds: Math.floor(result.retryAfterMs / 1000), nanos: (result.retryAfterMs % 1000) * 1e6 }
              : undefined,
          retryAfterKey: result.outcome === "failed" ? result.retryAfterKey : undefined,
        };
        span.end(result);
        this.write({ message: { $case: "runFinished", value: run.finished } });
        this.changed();
      });
  }

  /** The options' log URL for a run; a template that throws gives none (and says so), never a failed run. */
  private logUrlOf(assign: ConnectResponse_Assign): string | undefined {
    try {
      return this.options.logUrl?.(assign) || undefined;
    } catch (error) {
      this.log(`logUrl for run ${assign.runId} threw: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private dispatch(assign: ConnectResponse_Assign, ctx: ExecutionContext): Promise<ExecutionResult> {
    // Verify again here: a row changed in the supervisor's database must never run.
    if (assign.spec && (assign.spec.signature || this.options.requireSignatures)) {
      const problem = signatureProblem(assign.spec, this.trustedKeys);
      if (problem) return Promise.resolve({ outcome: "failed", error: `${ErrorReason.SIGNATURE_INVALID}: ${problem}` });
    }
    const init = assign.spec?.init ?? [];
    if (init.length === 0) return this.executeMain(assign, ctx);
    const traced = (step: SubprocessExec) => withTraceEnv(withAttemptEnv(step, assign), ctx);
    // Init steps are programs: a runner that does not run subprocesses does not run them either.
    if (!this.kinds.includes("subprocess")) {
      return Promise.resolve({
        outcome: "failed",
        failedInitStep: 1,
        error: "the task has init steps, and this runner does not run subprocesses (its kinds leave it out)",
      });
    }
    const subprocess = this.options.subprocess ?? defaultSubprocess();
    return withInitSteps(
      init,
      (step, stepCtx) => subprocess.execute(traced(step), stepCtx),
      ctx,
      () => this.executeMain(assign, ctx),
    );
  }

  /** The main exec of a run, by its kind. */
  private executeMain(assign: ConnectResponse_Assign, ctx: ExecutionContext): Promise<ExecutionResult> {
    const exec = assign.spec?.exec;
    switch (exec?.$case) {
      case "subprocess": {
        const spec = withTraceEnv(withAttemptEnv(exec.value, assign), ctx);
        const subprocess = this.options.subprocess ?? defaultSubprocess();
        return withRetryAfterFile(
          (env) => subprocess.execute({ ...spec, env: { ...spec.env, ...env } }, ctx),
          (line) => this.log(`run ${assign.runId}: ${line}`),
        );
      }
      case "container": {
        if (!this.containerExecutor) return Promise.resolve({ outcome: "failed", error: "no container runtime here" });
        return this.containerExecutor.execute(withTraceEnv(withAttemptEnv(exec.value, assign), ctx), ctx);
      }
      case "wasm":
        return (this.options.wasm ?? wasmExecutor).execute(exec.value, ctx);
      case "embedded":
        return this.handlers.execute(exec.value, ctx);
      default:
        return Promise.resolve({ outcome: "failed", error: "the task has no exec this runner knows" });
    }
  }
}

/** A subprocess spec with the attempt's identity in its environment: handy for idempotent side effects and logs. */
const withAttemptEnv = <E extends { env: Record<string, string> }>(exec: E, assign: ConnectResponse_Assign): E => ({
  ...exec,
  env: {
    ...exec.env,
    SUPERVISOR_TASK_ID: assign.taskId,
    SUPERVISOR_RUN_ID: assign.runId,
    SUPERVISOR_ATTEMPT: String(assign.attempt),
  },
});

/** $TRACEPARENT for a program of a traced run (the run span's context). */
const withTraceEnv = <E extends { env: Record<string, string> }>(exec: E, ctx: ExecutionContext): E =>
  ctx.traceparent ? { ...exec, env: { ...exec.env, TRACEPARENT: ctx.traceparent } } : exec;

const startedMessage = (runId: string, logUrl: string | undefined): ConnectRequest => ({
  message: { $case: "runStarted", value: { runId, logUrl } },
});

const outputMessage = (
  runId: string,
  chunk: { seq: number; offset: number; stream: number; data: Buffer },
): ConnectRequest => ({
  message: {
    $case: "output",
    value: { runId, stream: chunk.stream, data: chunk.data, seq: chunk.seq, offset: chunk.offset },
  },
});

const OUTCOMES: Record<ExecutionResult["outcome"], RunOutcome> = {
  succeeded: RunOutcome.RUN_OUTCOME_SUCCEEDED,
  failed: RunOutcome.RUN_OUTCOME_FAILED,
  timeout: RunOutcome.RUN_OUTCOME_TIMEOUT,
  canceled: RunOutcome.RUN_OUTCOME_CANCELED,
};

let sharedSubprocess: Executor<SubprocessExec> | undefined;
const defaultSubprocess = () => (sharedSubprocess ??= createSubprocessExecutor());
