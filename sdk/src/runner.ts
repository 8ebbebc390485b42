import type { KeyObject } from "node:crypto";
import {
  type ChannelCredentials,
  type ClientDuplexStream,
  credentials as grpcCredentials,
  Metadata,
} from "@grpc/grpc-js";
import { DEFAULT_RECONNECT_BACKOFF, jitteredDelayMs, type RetryBackoff, sleep } from "./backoff.js";
import { CHANNEL_DEFAULTS } from "./client.js";
import { SupervisorError } from "./errors.js";
import { type EmbeddedHandler, EmbeddedRegistry } from "./executors/embedded.js";
import { createSubprocessExecutor } from "./executors/subprocess.js";
import type { ExecutionResult, Executor, OutputStreamName } from "./executors/types.js";
import { wasmExecutor } from "./executors/wasm.js";
import { OutputStream } from "./gen/supervisor/v1/run.js";
import {
  type ConnectRequest,
  type ConnectResponse,
  type ConnectResponse_Assign,
  RunnerServiceClient,
  RunOutcome,
} from "./gen/supervisor/v1/runner_service.js";
import type { SubprocessExec, WasmExec } from "./gen/supervisor/v1/task.js";
import { jsonLimitProblem } from "./json-limits.js";
import { ErrorReason } from "./reasons.js";
import { signatureProblem, trustedKeysFrom } from "./signing.js";

export interface RunnerOptions {
  /** host:port of the supervisor. */
  address: string;
  /** Unique runner name; a second runner with the same name replaces this one. */
  name: string;
  labels?: Record<string, string>;
  /** Runs at once. Default 1. */
  capacity?: number;
  /** Kinds to advertise. Default: subprocess, wasm, and every registered handler. */
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
  subprocess?: Executor<SubprocessExec>;
  wasm?: Executor<WasmExec>;
  log?: (line: string) => void;
}

/** The largest output piece sent in one message. */
const MAX_OUTPUT_MESSAGE = 64 * 1024;
/** Messages kept for the supervisor while disconnected (output beyond it is dropped; results never are). */
const MAX_OUTBOX = 10_000;

interface LocalRun {
  assign: ConnectResponse_Assign;
  controller: AbortController;
  seq: number;
  gracePeriodMs: number;
  finished?: ConnectRequest;
}

/**
 * A runner process: connects, says hello, executes what it is assigned and
 * reports back; reconnects with backoff when the supervisor is away, and
 * tells it on reconnect which runs it still has. Heartbeats run on their own
 * timer, apart from the work.
 */
export class Runner {
  readonly handlers = new EmbeddedRegistry();
  private readonly client: RunnerServiceClient;
  private readonly runs = new Map<string, LocalRun>();
  private readonly outbox: ConnectRequest[] = [];
  private stream: ClientDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private welcomed?: (runnerId: string) => void;
  private idle?: () => void;
  /** The id the supervisor gave this runner (after the first welcome). */
  runnerId = "";
  draining = false;

  private readonly trustedKeys: Map<string, KeyObject>;
  private readonly metadata = new Metadata();

  constructor(private readonly options: RunnerOptions) {
    this.client = new RunnerServiceClient(
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
    return this.options.kinds ?? ["subprocess", "wasm", ...this.handlers.names().map((name) => `embedded:${name}`)];
  }

  /** Connects and resolves once the supervisor has welcomed the runner; reconnects by itself afterwards. */
  start(): Promise<string> {
    const welcomed = new Promise<string>((resolve) => (this.welcomed = resolve));
    this.loop ??= this.connectLoop();
    return welcomed;
  }

  /** Finishes the runs in hand (taking no new ones), reports them, then disconnects. */
  async stop(): Promise<void> {
    this.draining = true;
    if (this.runs.size > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.flushed();
    this.stopping.abort();
    this.stream?.end();
    await this.loop;
    this.client.close();
  }

  private log(line: string): void {
    (this.options.log ?? ((text: string) => process.stderr.write(`${text}\n`)))(`runner ${this.options.name}: ${line}`);
  }

  private async connectLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const outcome = await this.session().catch((error: unknown) => SupervisorError.from(error));
      if (this.stopping.signal.aborted) break;
      if (outcome instanceof SupervisorError && outcome.reason === ErrorReason.RUNNER_REPLACED) {
        this.log("another runner with this name took over; stopping");
        break;
      }
      failures = outcome === "welcomed" ? 1 : failures + 1;
      const delay = jitteredDelayMs(this.options.reconnect ?? DEFAULT_RECONNECT_BACKOFF, failures);
      this.log(
        `disconnected (${outcome instanceof Error ? outcome.message : "stream ended"}); reconnecting in ${delay} ms`,
      );
      await sleep(delay, this.stopping.signal);
    }
  }

  /** One connection, from hello to the end of the stream. Resolves "welcomed" if it got that far. */
  private session(): Promise<"welcomed" | "ended"> {
    return new Promise((resolve, reject) => {
      const stream = this.client.connect(this.metadata);
      let heartbeat: NodeJS.Timeout | undefined;
      let welcomed = false;
      const done = (error?: unknown) => {
        clearInterval(heartbeat);
        if (this.stream === stream) this.stream = undefined;
        if (error && !welcomed) reject(error);
        else resolve(welcomed ? "welcomed" : "ended");
      };
      stream.on("data", (message: ConnectResponse) => {
        const body = message.message;
        if (!body) return;
        switch (body.$case) {
          case "welcome": {
            welcomed = true;
            this.runnerId = body.value.runnerId;
            this.stream = stream;
            const intervalMs =
              (body.value.heartbeatInterval?.seconds ?? 5) * 1000 +
              Math.floor((body.value.heartbeatInterval?.nanos ?? 0) / 1e6);
            heartbeat = setInterval(
              () => this.send({ message: { $case: "heartbeat", value: {} } }),
              Math.max(100, intervalMs),
            );
            heartbeat.unref();
            this.flushOutbox();
            this.welcomed?.(this.runnerId);
            this.welcomed = undefined;
            return;
          }
          case "assign":
            return this.execute(body.value);
          case "cancel": {
            const run = this.runs.get(body.value.runId);
            if (!run) return;
            const grace = body.value.gracePeriod;
            if (grace) run.gracePeriodMs = grace.seconds * 1000 + Math.floor(grace.nanos / 1e6);
            run.controller.abort(body.value.reason || "canceled");
            return;
          }
          case "drain":
            this.draining = true;
            return;
        }
      });
      stream.on("error", (error) => done(error));
      stream.on("end", () => done());
      // Runs still executing, and runs finished while away, are claimed again.
      stream.write({
        message: {
          $case: "hello",
          value: {
            name: this.options.name,
            labels: this.options.labels ?? {},
            kinds: this.kinds,
            capacity: this.options.capacity ?? 1,
            version: this.options.version ?? "",
            activeRunIds: [...this.runs.keys()],
          },
        },
      });
    });
  }

  /** Sends now when connected, else keeps it for the next connection (results are never dropped). */
  private send(message: ConnectRequest): void {
    if (this.stream) {
      this.stream.write(message);
      return;
    }
    if (message.message?.$case === "heartbeat") return;
    if (this.outbox.length >= MAX_OUTBOX && message.message?.$case === "output") return;
    this.outbox.push(message);
  }

  private flushOutbox(): void {
    const pending = this.outbox.splice(0);
    for (const message of pending) this.stream!.write(message);
  }

  /** Resolves when everything written so far has been handed to the transport. */
  private async flushed(): Promise<void> {
    if (!this.stream) return;
    await new Promise<void>((resolve) =>
      this.stream!.write({ message: { $case: "heartbeat", value: {} } }, () => resolve()),
    );
  }

  private execute(assign: ConnectResponse_Assign): void {
    if (this.runs.has(assign.runId)) return; // a duplicate assign after a reconnect
    const run: LocalRun = {
      assign,
      controller: new AbortController(),
      seq: 0,
      gracePeriodMs: this.options.gracePeriodMs ?? 10_000,
    };
    this.runs.set(assign.runId, run);
    this.send({ message: { $case: "runStarted", value: { runId: assign.runId } } });
    const onOutput = (stream: OutputStreamName, data: Buffer) => {
      for (let offset = 0; offset < data.length; offset += MAX_OUTPUT_MESSAGE) {
        this.send({
          message: {
            $case: "output",
            value: {
              runId: assign.runId,
              stream: stream === "stdout" ? OutputStream.OUTPUT_STREAM_STDOUT : OutputStream.OUTPUT_STREAM_STDERR,
              data: data.subarray(offset, offset + MAX_OUTPUT_MESSAGE),
              seq: ++run.seq,
            },
          },
        });
      }
    };
    const ctx = {
      signal: run.controller.signal,
      deadline: assign.deadline ?? new Date(Date.now() + 60_000),
      get gracePeriodMs() {
        return run.gracePeriodMs;
      },
      onOutput,
    };
    this.dispatch(assign, ctx)
      .catch(
        (error: unknown): ExecutionResult => ({
          outcome: "failed",
          error: `executor crashed: ${error instanceof Error ? error.message : String(error)}`,
        }),
      )
      .then((reported) => {
        this.runs.delete(assign.runId);
        // The supervisor refuses a result it could not serve back; say why here, where the handler's author looks.
        const problem = reported.result === undefined ? undefined : jsonLimitProblem(reported.result);
        const result: ExecutionResult = problem
          ? { outcome: "failed", exitCode: reported.exitCode, error: `result refused: ${problem}` }
          : reported;
        this.send({
          message: {
            $case: "runFinished",
            value: {
              runId: assign.runId,
              exitCode: result.exitCode,
              outcome: OUTCOMES[result.outcome],
              error: result.error ?? "",
              result: result.result,
            },
          },
        });
        if (this.runs.size === 0) this.idle?.();
      });
  }

  private dispatch(
    assign: ConnectResponse_Assign,
    ctx: Parameters<Executor<unknown>["execute"]>[1],
  ): Promise<ExecutionResult> {
    // Verify again here: a row changed in the supervisor's database must never run.
    if (assign.spec && (assign.spec.signature || this.options.requireSignatures)) {
      const problem = signatureProblem(assign.spec, this.trustedKeys);
      if (problem) return Promise.resolve({ outcome: "failed", error: `${ErrorReason.SIGNATURE_INVALID}: ${problem}` });
    }
    const exec = assign.spec?.exec;
    switch (exec?.$case) {
      case "subprocess": {
        // The program learns which attempt it is: handy for idempotent side effects and logs.
        const env = {
          ...exec.value.env,
          SUPERVISOR_TASK_ID: assign.taskId,
          SUPERVISOR_RUN_ID: assign.runId,
          SUPERVISOR_ATTEMPT: String(assign.attempt),
        };
        return (this.options.subprocess ?? defaultSubprocess()).execute({ ...exec.value, env }, ctx);
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

const OUTCOMES: Record<ExecutionResult["outcome"], RunOutcome> = {
  succeeded: RunOutcome.RUN_OUTCOME_SUCCEEDED,
  failed: RunOutcome.RUN_OUTCOME_FAILED,
  timeout: RunOutcome.RUN_OUTCOME_TIMEOUT,
  canceled: RunOutcome.RUN_OUTCOME_CANCELED,
};

let sharedSubprocess: Executor<SubprocessExec> | undefined;
const defaultSubprocess = () => (sharedSubprocess ??= createSubprocessExecutor());
