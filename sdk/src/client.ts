import { type ChannelCredentials, type ChannelOptions, credentials as grpcCredentials, Metadata } from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { jitteredDelayMs, sleep } from "./backoff.js";
import { type CallSettings, streamCall, unaryCall } from "./call.js";
import { Dispatch } from "./dispatch.js";
import { SupervisorError } from "./errors.js";
import { DispatchServiceClient } from "./gen/supervisor/v1/dispatch_service.js";
import type { Run } from "./gen/supervisor/v1/run.js";
import type { Runner as RunnerInfo } from "./gen/supervisor/v1/runner.js";
import { RunnerServiceClient } from "./gen/supervisor/v1/runner_service.js";
import { ScheduleServiceClient } from "./gen/supervisor/v1/schedule_service.js";
import { type Task, TaskPhase, TaskSpec } from "./gen/supervisor/v1/task.js";
import {
  type CancelTasksResponse,
  EventType,
  type ExplainTaskResponse,
  type ListTasksResponse,
  type StreamTaskOutputResponse,
  TaskServiceClient,
  type WatchTasksResponse,
} from "./gen/supervisor/v1/task_service.js";
import { Informer, type InformerHandlers, type InformerOptions } from "./informer.js";
import { fromInput, type TaskFilterInput, type TaskSpecInput } from "./input.js";
import { ErrorReason } from "./reasons.js";
import { DEFAULT_RETRY, isRetryable, type RetryPolicy, withRetry } from "./retry.js";
import { Schedules } from "./schedules.js";
import { type BatchingOptions, SubmitBatcher } from "./submit-batcher.js";
import { encodeSubmit } from "./submit-wire.js";
import { type ListOptions, type ListPageOptions, queryOptions, taskFilterOf, type WatchOptions } from "./task-query.js";
import { traceparentOf } from "./trace-context.js";
import { IdGenerator } from "./uuidv7.js";

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
  /**
   * Concurrent `submit()` calls share one BatchSubmitTasks call (each still
   * gets its own task or error); `false` sends every submit as its own
   * SubmitTask. Default on, with no added wait (see BatchingOptions).
   */
  batching?: boolean | BatchingOptions;
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

/**
 * Request ids are UUIDv7: time-ordered keys land together in the server's
 * idempotency index instead of scattering it (≈ 1 µs per key instead of ≈ 9).
 */
const requestIds = new IdGenerator();

export interface SubmitOptions extends CallSettings {
  /** Idempotency key; generated when left out, so a retried submit never makes a second task. */
  requestId?: string;
}

export interface CancelOptions extends CallSettings {
  /** Why, recorded on the task (TaskStatus.message). */
  reason?: string;
}

export interface CancelTasksOptions extends CallSettings {
  /** Why, recorded on each task (TaskStatus.message). */
  reason?: string;
  /** Only count (and list) the tasks that would be canceled. */
  dryRun?: boolean;
  /** Allow a filter that narrows nothing (no slot, selector, runner or id prefix): every active task. */
  all?: boolean;
}

export interface RerunOptions extends CallSettings {
  /** Idempotency key; generated when left out, so a retried rerun never makes a second task. */
  requestId?: string;
}

export interface WaitForOptions extends CallSettings {
  /** Resolve once the task is in one of these (default: any terminal phase). */
  phases?: readonly TaskPhase[];
}

/**
 * The supervisor client. Every method takes a deadline and an AbortSignal;
 * idempotent calls are retried on transient errors with capped, jittered
 * backoff — submits included, because each carries a request_id.
 */
export class SupervisorClient {
  readonly tasks: TaskServiceClient;
  readonly runners: RunnerServiceClient;
  /** ScheduleService: `schedules.create(…)`, `get`, `list`, `update`, `pause`, `unpause`, `trigger`, `delete`. */
  readonly schedules: Schedules;
  /** DispatchService: `dispatch.pause({ id, slot | concurrencyKey | labelSelector, note })`, `resume(id)`, `list()`. */
  readonly dispatch: Dispatch;
  private readonly metadata = new Metadata();
  private readonly retry: RetryPolicy;
  private readonly deadlineMs: number;
  private readonly batcher: SubmitBatcher | undefined;

  constructor(options: ClientOptions = {}) {
    const address = options.address ?? process.env.SUPERVISOR_ADDR ?? DEFAULT_ADDRESS;
    const creds = channelCredentials(options.tls);
    const channelOptions = { ...CHANNEL_DEFAULTS, ...options.channelOptions };
    this.tasks = new TaskServiceClient(address, creds, channelOptions);
    this.runners = new RunnerServiceClient(address, creds, channelOptions);
    if (options.token) this.metadata.set("authorization", `Bearer ${options.token}`);
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    const scheduleService = new ScheduleServiceClient(address, creds, channelOptions);
    this.schedules = new Schedules(scheduleService, {
      metadata: this.metadata,
      retry: this.retry,
      deadlineMs: this.deadlineMs,
    });
    this.dispatch = new Dispatch(new DispatchServiceClient(address, creds, channelOptions), {
      metadata: this.metadata,
      retry: this.retry,
      deadlineMs: this.deadlineMs,
    });
    const batching = options.batching ?? true;
    if (batching) {
      this.batcher = new SubmitBatcher(this.tasks, this.metadata, this.retry, batching === true ? {} : batching);
    }
  }

  /** Closes the channels; submits still waiting to share a call are sent first, as they would have been alone. */
  close(): void {
    this.batcher?.flush();
    this.tasks.close();
    this.runners.close();
    this.schedules.close();
    this.dispatch.close();
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
    const metadata = this.tracedMetadata();
    return withRetry(() => unaryCall(method, request, metadata, resolved), this.retry, resolved.signal);
  }

  /** The call's metadata, with the active OpenTelemetry span's `traceparent` when there is one. */
  private tracedMetadata(): Metadata {
    const traceparent = traceparentOf(context.active());
    if (!traceparent) return this.metadata;
    const metadata = this.metadata.clone();
    metadata.set("traceparent", traceparent);
    return metadata;
  }

  /**
   * Submits a task: a spec helper's result (`subprocess(…)`) or a spec with any
   * field left out. A request id is generated when none is given, so retries
   * never create a second task. Submits made together (before the event loop
   * turns) travel in one call unless batching is off; each gets its own task,
   * or the same SupervisorError it would have got alone.
   */
  submit(spec: TaskSpecInput, options: SubmitOptions = {}): Promise<Task> {
    const batcher = this.batcher;
    // A submit inside a trace goes alone: a shared batch call could carry only one traceparent.
    if (!batcher || traceparentOf(context.active())) return this.submitAlone(spec, options);
    let bytes: Uint8Array;
    try {
      bytes = encodeSubmit({ spec: fromInput(TaskSpec, spec), requestId: options.requestId ?? requestIds.next() });
    } catch (error) {
      return Promise.reject(error); // a spec that does not encode, as from an async method
    }
    return batcher.submit(bytes, options.deadlineMs ?? this.deadlineMs, options.signal);
  }

  private async submitAlone(spec: TaskSpecInput, options: SubmitOptions): Promise<Task> {
    const request = { spec: fromInput(TaskSpec, spec), requestId: options.requestId ?? requestIds.next() };
    return (await this.idempotent(this.tasks.submitTask.bind(this.tasks), request, options)).task!;
  }

  /** Submits tasks in one transaction: all or none. Each item is a spec, or `{ spec, requestId }`. */
  async submitBatch(
    specs: readonly (TaskSpecInput | { spec: TaskSpecInput; requestId?: string })[],
    options: CallSettings = {},
  ): Promise<Task[]> {
    const requests = specs.map((item) =>
      "spec" in item && item.spec
        ? { spec: fromInput(TaskSpec, item.spec), requestId: item.requestId ?? requestIds.next() }
        : { spec: fromInput(TaskSpec, item as TaskSpecInput), requestId: requestIds.next() },
    );
    const request = { requests, returnPartialSuccess: false };
    return (await this.idempotent(this.tasks.batchSubmitTasks.bind(this.tasks), request, options)).tasks;
  }

  async get(id: string, options?: CallSettings): Promise<Task> {
    return (await this.idempotent(this.tasks.getTask.bind(this.tasks), { id }, options)).task!;
  }

  /**
   * Why a task is not running now (ExplainTask): `{ task, blockers, runners }` — each blocker in force,
   * the most decisive first (none once it runs or ended), and every connected runner compared with it,
   * the closest first.
   */
  async explain(id: string, options?: CallSettings): Promise<ExplainTaskResponse> {
    return this.idempotent(this.tasks.explainTask.bind(this.tasks), { id }, options);
  }

  /** One page of tasks, newest first: `listPage({ filter, pageSize, pageToken })`. */
  listPage(options: ListPageOptions = {}): Promise<ListTasksResponse> {
    const request = {
      filter: taskFilterOf(options.filter),
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
    };
    return this.idempotent(this.tasks.listTasks.bind(this.tasks), request, options);
  }

  /** Every task matching `filter`, newest first, fetching pages as you iterate: `list({ filter, pageSize })`. */
  list(options?: ListOptions): AsyncGenerator<Task>;
  /** @deprecated The 0.1 shape; use `list({ filter, pageSize, ... })`. Removed in the next release. */
  list(filter: TaskFilterInput, options?: Omit<ListOptions, "filter">): AsyncGenerator<Task>;
  async *list(first: ListOptions | TaskFilterInput = {}, legacy?: Omit<ListOptions, "filter">): AsyncGenerator<Task> {
    const options = queryOptions<ListOptions>(first, legacy);
    let pageToken = "";
    do {
      const page = await this.listPage({ ...options, pageToken });
      yield* page.tasks;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * Task changes as they happen. A dropped stream (server restart, network,
   * or WATCH_TOO_SLOW) is resumed from the last revision delivered, so no
   * change is missed or repeated. REVISION_COMPACTED is thrown: list again.
   * `watch({ filter, sinceRevision, sendInitial, signal })`.
   */
  async *watch(options: WatchOptions = {}): AsyncGenerator<WatchTasksResponse> {
    let since = options.sinceRevision ?? 0;
    let sendInitial = options.sendInitial ?? false;
    let failures = 0;
    const filter = taskFilterOf(options.filter);
    while (!options.signal?.aborted) {
      const stream = this.tasks.watchTasks({ sinceRevision: since, filter, sendInitial }, this.metadata);
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

  /**
   * A local map of the tasks matching `filter`, kept current (see Informer):
   * `informer({ filter, onAdd, onUpdate, onDelete, onError, signal })`.
   */
  informer(options?: InformerOptions): Informer;
  /** @deprecated The 0.1 shape; use `informer({ filter, onAdd, ... })`. Removed in the next release. */
  informer(filter: TaskFilterInput, handlers?: InformerHandlers): Informer;
  informer(first: InformerOptions | TaskFilterInput = {}, handlers?: InformerHandlers): Informer {
    return new Informer(this, queryOptions<InformerOptions>(first, handlers));
  }

  /**
   * Cancels a task (idempotent); a running task turns CANCELED once its runner
   * has stopped it. `cancel(id)`, `cancel(id, "why")` or `cancel(id, { reason, deadlineMs })`.
   */
  cancel(id: string, options?: CancelOptions): Promise<Task>;
  cancel(id: string, reason: string, options?: CallSettings): Promise<Task>;
  async cancel(id: string, reason: string | CancelOptions = "", options: CallSettings = {}): Promise<Task> {
    const settings = typeof reason === "string" ? { ...options, reason } : reason;
    const request = { id, reason: settings.reason ?? "" };
    return (await this.idempotent(this.tasks.cancelTask.bind(this.tasks), request, settings)).task!;
  }

  /**
   * Cancels every active task matching `filter` (CancelTasks): `{ matched, canceled, taskIds }`. Idempotent
   * (a second call finds nothing more to cancel), so retried. `cancelTasks({ labelSelector: "team=a" })`,
   * `cancelTasks({ slot }, { dryRun: true })`, `cancelTasks({}, { all: true })`.
   */
  async cancelTasks(filter: TaskFilterInput, options: CancelTasksOptions = {}): Promise<CancelTasksResponse> {
    const request = {
      filter: taskFilterOf(filter),
      reason: options.reason ?? "",
      dryRun: options.dryRun ?? false,
      all: options.all ?? false,
    };
    return this.idempotent(this.tasks.cancelTasks.bind(this.tasks), request, options);
  }

  /**
   * A new task with the spec of the ended task `id` (RerunTask); its `rerunOf` is `id`. A request id is
   * generated when none is given, so retries never make a second task.
   */
  async rerun(id: string, options: RerunOptions = {}): Promise<Task> {
    const request = { id, requestId: options.requestId ?? requestIds.next() };
    return (await this.idempotent(this.tasks.rerunTask.bind(this.tasks), request, options)).task!;
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
  async waitFor(taskId: string, options: WaitForOptions = {}): Promise<Task> {
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
