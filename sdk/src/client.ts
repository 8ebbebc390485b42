import { randomUUID } from "node:crypto";
import { type ChannelCredentials, type ChannelOptions, credentials as grpcCredentials, Metadata } from "@grpc/grpc-js";
import { jitteredDelayMs, sleep } from "./backoff.js";
import { type CallSettings, streamCall, unaryCall } from "./call.js";
import { SupervisorError } from "./errors.js";
import type { Run } from "./gen/supervisor/v1/run.js";
import type { Runner as RunnerInfo } from "./gen/supervisor/v1/runner.js";
import { RunnerServiceClient } from "./gen/supervisor/v1/runner_service.js";
import { type Task, TaskPhase, type TaskSpec } from "./gen/supervisor/v1/task.js";
import {
  EventType,
  type ListTasksResponse,
  type StreamTaskOutputResponse,
  type TaskFilter,
  TaskServiceClient,
  type WatchTasksResponse,
} from "./gen/supervisor/v1/task_service.js";
import { Informer, type InformerHandlers } from "./informer.js";
import { ErrorReason } from "./reasons.js";
import { DEFAULT_RETRY, isRetryable, type RetryPolicy, withRetry } from "./retry.js";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";

export interface ClientOptions {
  /** host:port. Default: $SUPERVISOR_ADDR, else 127.0.0.1:50051. */
  address?: string;
  /** Bearer token sent with every call. */
  token?: string;
  /** TLS: true for the system roots, or PEM material (ca, and cert + key for mutual TLS). */
  tls?: boolean | { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Default deadline of each call attempt. Default 30 s. */
  deadlineMs?: number;
  /** Retries of idempotent calls on UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED. */
  retry?: RetryPolicy;
  /** grpc-js channel options, over the SDK's defaults (CHANNEL_DEFAULTS). */
  channelOptions?: ChannelOptions;
}

/**
 * grpc-js waits up to 120 s between reconnect attempts by default; a
 * supervisor that restarts should be found again within seconds. Keepalive
 * notices a dead connection (a half-open TCP) instead of waiting on it.
 */
export const CHANNEL_DEFAULTS: ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 2_000,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
};

export const TERMINAL_PHASES: readonly TaskPhase[] = [
  TaskPhase.TASK_PHASE_SUCCEEDED,
  TaskPhase.TASK_PHASE_FAILED,
  TaskPhase.TASK_PHASE_TIMEOUT,
  TaskPhase.TASK_PHASE_CANCELED,
  TaskPhase.TASK_PHASE_EXHAUSTED,
];

function channelCredentials(tls: ClientOptions["tls"]): ChannelCredentials {
  if (!tls) return grpcCredentials.createInsecure();
  if (tls === true) return grpcCredentials.createSsl();
  return grpcCredentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

export interface WatchOptions extends CallSettings {
  sinceRevision?: number;
  filter?: Partial<TaskFilter>;
  sendInitial?: boolean;
}

const fullFilter = (filter: Partial<TaskFilter> = {}): TaskFilter => ({
  slot: "",
  phases: [],
  runnerId: "",
  labelSelector: "",
  idPrefix: "",
  ...filter,
});

/**
 * The supervisor client. Every method takes a deadline and an AbortSignal;
 * idempotent calls are retried on transient errors with capped, jittered
 * backoff — submits included, because each carries a request_id.
 */
export class SupervisorClient {
  readonly tasks: TaskServiceClient;
  readonly runners: RunnerServiceClient;
  private readonly metadata = new Metadata();
  private readonly retry: RetryPolicy;
  private readonly deadlineMs: number;

  constructor(options: ClientOptions = {}) {
    const address = options.address ?? process.env.SUPERVISOR_ADDR ?? DEFAULT_ADDRESS;
    const creds = channelCredentials(options.tls);
    const channelOptions = { ...CHANNEL_DEFAULTS, ...options.channelOptions };
    this.tasks = new TaskServiceClient(address, creds, channelOptions);
    this.runners = new RunnerServiceClient(address, creds, channelOptions);
    if (options.token) this.metadata.set("authorization", `Bearer ${options.token}`);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.deadlineMs = options.deadlineMs ?? 30_000;
  }

  close(): void {
    this.tasks.close();
    this.runners.close();
  }

  private settings(settings: CallSettings = {}): CallSettings {
    return { deadlineMs: settings.deadlineMs ?? this.deadlineMs, signal: settings.signal };
  }

  private idempotent<Req, Res>(
    method: Parameters<typeof unaryCall<Req, Res>>[0],
    request: Req,
    settings?: CallSettings,
  ): Promise<Res> {
    const resolved = this.settings(settings);
    return withRetry(() => unaryCall(method, request, this.metadata, resolved), this.retry, resolved.signal);
  }

  /** Submits a task. A request id is generated when none is given, so retries never create a second task. */
  async submit(spec: TaskSpec, options: CallSettings & { requestId?: string } = {}): Promise<Task> {
    const request = { spec, requestId: options.requestId ?? randomUUID() };
    return (await this.idempotent(this.tasks.submitTask.bind(this.tasks), request, options)).task!;
  }

  /** Submits tasks in one transaction: all or none. */
  async submitBatch(
    specs: (TaskSpec | { spec: TaskSpec; requestId?: string })[],
    options: CallSettings = {},
  ): Promise<Task[]> {
    const requests = specs.map((item) =>
      "spec" in item && item.spec
        ? { spec: item.spec, requestId: item.requestId ?? randomUUID() }
        : { spec: item as TaskSpec, requestId: randomUUID() },
    );
    return (await this.idempotent(this.tasks.batchSubmitTasks.bind(this.tasks), { requests }, options)).tasks;
  }

  async get(id: string, options?: CallSettings): Promise<Task> {
    return (await this.idempotent(this.tasks.getTask.bind(this.tasks), { id }, options)).task!;
  }

  /** One page of tasks, newest first. */
  listPage(
    options: CallSettings & { filter?: Partial<TaskFilter>; pageSize?: number; pageToken?: string } = {},
  ): Promise<ListTasksResponse> {
    const request = {
      filter: fullFilter(options.filter),
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
    };
    return this.idempotent(this.tasks.listTasks.bind(this.tasks), request, options);
  }

  /** Every task matching the filter, newest first, fetching pages as you iterate. */
  async *list(
    filter: Partial<TaskFilter> = {},
    options: CallSettings & { pageSize?: number } = {},
  ): AsyncGenerator<Task> {
    let pageToken = "";
    do {
      const page = await this.listPage({ ...options, filter, pageToken });
      yield* page.tasks;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * Task changes as they happen. A dropped stream (server restart, network,
   * or WATCH_TOO_SLOW) is resumed from the last revision delivered, so no
   * change is missed or repeated. REVISION_COMPACTED is thrown: list again.
   */
  async *watch(options: WatchOptions = {}): AsyncGenerator<WatchTasksResponse> {
    let since = options.sinceRevision ?? 0;
    let sendInitial = options.sendInitial ?? false;
    let failures = 0;
    while (!options.signal?.aborted) {
      const stream = this.tasks.watchTasks(
        { sinceRevision: since, filter: fullFilter(options.filter), sendInitial },
        this.metadata,
      );
      try {
        for await (const event of streamCall(stream, options.signal)) {
          failures = 0;
          if (event.type === EventType.EVENT_TYPE_BOOKMARK) sendInitial = false; // the snapshot, if any, is complete
          if (!sendInitial) since = Math.max(since, event.revision);
          yield event;
        }
      } catch (error) {
        const failure = SupervisorError.from(error);
        const resumable = isRetryable(failure) || failure.reason === ErrorReason.WATCH_TOO_SLOW;
        if (!resumable) throw failure;
      }
      if (options.signal?.aborted) return;
      await sleep(jitteredDelayMs(this.retry, ++failures), options.signal);
    }
  }

  /** A local map of the tasks matching `filter`, kept current (see Informer). */
  informer(filter: Partial<TaskFilter> = {}, handlers: InformerHandlers = {}): Informer {
    return new Informer(this, filter, handlers);
  }

  /** Cancels a task (idempotent); a running task turns CANCELED once its runner has stopped it. */
  async cancel(id: string, reason = "", options?: CallSettings): Promise<Task> {
    return (await this.idempotent(this.tasks.cancelTask.bind(this.tasks), { id, reason }, options)).task!;
  }

  /** A run's output events; with `follow`, until the run ends. */
  output(
    taskId: string,
    options: CallSettings & { attempt?: number; follow?: boolean; sinceSeq?: number } = {},
  ): AsyncGenerator<StreamTaskOutputResponse> {
    const stream = this.tasks.streamTaskOutput(
      { taskId, attempt: options.attempt ?? 0, follow: options.follow ?? false, sinceSeq: options.sinceSeq ?? 0 },
      this.metadata,
    );
    return streamCall(stream, options.signal);
  }

  /** Resolves with the task once it is in one of `phases` (default: any terminal phase). */
  async waitFor(taskId: string, options: CallSettings & { phases?: readonly TaskPhase[] } = {}): Promise<Task> {
    const phases = options.phases ?? TERMINAL_PHASES;
    const task = await this.get(taskId, options);
    if (phases.includes(task.status!.phase)) return task;
    // Narrow the watch to the task's slot (or its labels) so a busy server does not stream everything.
    const labels = Object.entries(task.spec!.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const filter = task.spec!.slot ? { slot: task.spec!.slot } : { labelSelector: labels };
    for await (const event of this.watch({ sinceRevision: task.revision, filter, signal: options.signal })) {
      if (event.task?.id !== taskId) continue;
      if (phases.includes(event.task.status!.phase)) return event.task;
      if (event.type === EventType.EVENT_TYPE_DELETED)
        throw new SupervisorError(5, `task ${taskId} was deleted`, ErrorReason.TASK_NOT_FOUND);
    }
    throw SupervisorError.from(options.signal?.reason ?? new Error("aborted"));
  }

  /** Every attempt of a task, oldest first. */
  async listRuns(taskId: string, options?: CallSettings): Promise<Run[]> {
    const runs: Run[] = [];
    let pageToken = "";
    do {
      const page = await this.idempotent(
        this.tasks.listTaskRuns.bind(this.tasks),
        { taskId, pageSize: 1000, pageToken },
        options,
      );
      runs.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return runs;
  }

  /** Every runner (optionally matching a label selector), by name. */
  async listRunners(options: CallSettings & { labelSelector?: string } = {}): Promise<RunnerInfo[]> {
    const runners: RunnerInfo[] = [];
    let pageToken = "";
    do {
      const page = await this.idempotent(
        this.runners.listRunners.bind(this.runners),
        { pageSize: 1000, pageToken, labelSelector: options.labelSelector ?? "" },
        options,
      );
      runners.push(...page.runners);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return runners;
  }

  /** Stops new assignments to a runner; its running work finishes. */
  async drain(runnerId: string, options?: CallSettings): Promise<RunnerInfo> {
    return (await this.idempotent(this.runners.drainRunner.bind(this.runners), { runnerId }, options)).runner!;
  }
}
