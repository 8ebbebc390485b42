import { type CallOptions, type Client, status as GrpcStatus, type Metadata, type ServiceError } from "@grpc/grpc-js";
import { MAX_BATCH_BYTES, MAX_BATCH_REQUESTS } from "./batch-limits.js";
import { SupervisorError } from "./errors.js";
import type { Task } from "./gen/supervisor/v1/task.js";
import { type BatchSubmitTasksResponse, TaskServiceService } from "./gen/supervisor/v1/task_service.js";
import { type RetryPolicy, retryDelayMs } from "./retry.js";
import { BATCH_FIXED_BYTES, batchEntryBytes, partialSuccessBatch } from "./submit-wire.js";
import { MAX_TIMER_DELAY_MS } from "./timers.js";

export interface BatchingOptions {
  /**
   * How long the first submit of a call waits for others to join it, in ms.
   * Default 0: no wait — the submits made before the event loop turns travel
   * together (those of one `Promise.all`, or those set off by one network
   * read). Below 1 ms (e.g. 0.3) the batcher re-checks the time at each turn
   * of the event loop, which keeps the loop busy while it waits; from 1 ms it
   * is a timer.
   */
  lingerMs?: number;
  /** Most submits in one call. Default and most: 1000 (MAX_BATCH_REQUESTS). */
  maxBatchSize?: number;
}

/** A call in flight and how many of its submits still wait for it. */
interface InFlight {
  cancel(): void;
  waiting: number;
}

/** One submit, from its first attempt to its answer. */
interface Waiting {
  /** The encoded SubmitTaskRequest, sent as it is by every attempt. */
  bytes: Uint8Array;
  /** The deadline of each attempt, in ms (0: none). Only submits with the same one share a call. */
  deadlineMs: number;
  /** When the current attempt times out (ms since the epoch). */
  deadline: number | undefined;
  /** Attempts that failed so far. */
  failures: number;
  resolve: (task: Task) => void;
  reject: (error: SupervisorError) => void;
  /** Answered, or given up on by its caller: later news about it is ignored. */
  done: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The call carrying the current attempt, once sent. */
  call: InFlight | undefined;
  /** The backoff before the next attempt, and the error that attempt follows. */
  backoff: NodeJS.Timeout | undefined;
  lastError: SupervisorError | undefined;
}

type Answer<T> = (error: ServiceError | null, response?: T) => void;

const SUBMIT = TaskServiceService.submitTask;
const BATCH = TaskServiceService.batchSubmitTasks;
const asIs = (bytes: Buffer) => bytes;
const bufferOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const cancelledOnClient = () => new SupervisorError(GrpcStatus.CANCELLED, "Cancelled on client", "CANCELLED");
/** An all-or-nothing refusal names the request: in its metadata, or in its field paths (`requests[3].spec`). */
const BATCH_FIELD = /^requests\[\d+\]/;

/**
 * Coalesces concurrent submits into BatchSubmitTasks calls with
 * return_partial_success, so each still gets its own task or its own error —
 * the very SupervisorError a SubmitTask would have given it. A submit alone
 * goes as a SubmitTask. Each submit is retried on its own, as a unary submit
 * is (same request id, same bytes), and may share a call with others again.
 * A call carries submits of one deadline setting and the earliest deadline
 * among them, and stays within the server's limits (MAX_BATCH_REQUESTS,
 * MAX_BATCH_BYTES); a submit too large to share one goes alone. An aborted
 * submit is answered at once; its call is cancelled only when every submit
 * in it was.
 */
export class SubmitBatcher {
  /** Submits waiting to be sent, by their deadline setting. */
  private readonly queued = new Map<number, Waiting[]>();
  private scheduled = false;
  private lingerUntil = 0;
  /** False once the server showed it does not know return_partial_success: every submit goes alone. */
  private serverBatches = true;
  private readonly lingerMs: number;
  private readonly maxBatchSize: number;

  constructor(
    private readonly client: Client,
    private readonly metadata: Metadata,
    private readonly retry: RetryPolicy,
    options: BatchingOptions = {},
  ) {
    this.lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.maxBatchSize = Math.min(
      MAX_BATCH_REQUESTS,
      Math.max(1, Math.floor(options.maxBatchSize ?? MAX_BATCH_REQUESTS)),
    );
  }

  /** A submit of an encoded SubmitTaskRequest, retries included: its task, or the SupervisorError it failed with. */
  submit(bytes: Uint8Array, deadlineMs: number, signal: AbortSignal | undefined): Promise<Task> {
    return new Promise<Task>((resolve, reject) => {
      if (signal?.aborted) return reject(SupervisorError.from(signal.reason ?? new Error("aborted")));
      const waiting: Waiting = {
        bytes,
        deadlineMs: Math.max(deadlineMs, 0),
        deadline: undefined,
        failures: 0,
        resolve,
        reject,
        done: false,
        signal,
        onAbort: undefined,
        call: undefined,
        backoff: undefined,
        lastError: undefined,
      };
      if (signal) {
        waiting.onAbort = () => this.abandon(waiting);
        signal.addEventListener("abort", waiting.onAbort, { once: true });
      }
      this.enqueue(waiting);
    });
  }

  /** Sends whatever is queued now (the client is closing: nothing may wait for a later turn). */
  flush = (): void => {
    this.scheduled = false;
    const groups = [...this.queued.values()];
    this.queued.clear();
    for (const group of groups) this.send(group);
  };

  private enqueue(waiting: Waiting): void {
    waiting.deadline = waiting.deadlineMs ? Date.now() + waiting.deadlineMs : undefined;
    let group = this.queued.get(waiting.deadlineMs);
    if (!group) this.queued.set(waiting.deadlineMs, (group = []));
    group.push(waiting);
    if (group.length >= this.maxBatchSize) {
      this.queued.delete(waiting.deadlineMs);
      this.send(group);
    } else if (!this.scheduled) {
      this.scheduled = true;
      if (this.lingerMs >= 1) setTimeout(this.flush, this.lingerMs);
      else if (this.lingerMs > 0) {
        this.lingerUntil = performance.now() + this.lingerMs;
        setImmediate(this.lingerTurn);
      } else setImmediate(this.flush);
    }
  }

  private readonly lingerTurn = (): void => {
    if (performance.now() >= this.lingerUntil) this.flush();
    else setImmediate(this.lingerTurn);
  };

  /** Sends a group's live submits in as few calls as the server's limits allow. */
  private send(group: readonly Waiting[]): void {
    let batch: Waiting[] = [];
    let bytes = BATCH_FIXED_BYTES;
    for (const waiting of group) {
      if (waiting.done) continue;
      const size = batchEntryBytes(waiting.bytes);
      if (batch.length > 0 && (batch.length >= this.maxBatchSize || bytes + size > MAX_BATCH_BYTES)) {
        this.sendBatch(batch);
        batch = [];
        bytes = BATCH_FIXED_BYTES;
      }
      batch.push(waiting);
      bytes += size;
    }
    if (batch.length > 0) this.sendBatch(batch);
  }

  private sendBatch(batch: Waiting[]): void {
    if (batch.length === 1 || !this.serverBatches) {
      for (const waiting of batch) this.sendAlone(waiting);
      return;
    }
    const body = partialSuccessBatch(batch.map((waiting) => waiting.bytes));
    this.start<BatchSubmitTasksResponse>(BATCH.path, BATCH.responseDeserialize, body, batch, (error, response) => {
      if (error) this.batchFailed(batch, SupervisorError.from(error));
      else this.answer(batch, response!);
    });
  }

  private sendAlone(waiting: Waiting): void {
    this.start(SUBMIT.path, SUBMIT.responseDeserialize, bufferOf(waiting.bytes), [waiting], (error, response) => {
      if (error) this.failed(waiting, SupervisorError.from(error));
      else this.succeeded(waiting, response!.task!);
    });
  }

  /** Starts one call for `batch`. A closed channel throws at once: each submit fails with that. */
  private start<T>(
    path: string,
    deserialize: (bytes: Buffer) => T,
    body: Buffer,
    batch: readonly Waiting[],
    answer: Answer<T>,
  ): void {
    let call: { cancel(): void };
    try {
      call = this.client.makeUnaryRequest(path, asIs, deserialize, body, this.metadata, callOptions(batch), answer);
    } catch (thrown) {
      const error = SupervisorError.from(thrown);
      for (const waiting of batch) this.failed(waiting, error);
      return;
    }
    const inFlight: InFlight = { cancel: () => call.cancel(), waiting: batch.length };
    for (const waiting of batch) waiting.call = inFlight;
  }

  /** Each submit of the batch gets its task, or the error in failed_requests at its index. */
  private answer(batch: readonly Waiting[], { tasks, failedRequests }: BatchSubmitTasksResponse): void {
    let refused = 0;
    for (const _ in failedRequests) refused++;
    if (tasks.length + refused !== batch.length) {
      const message = `the server answered ${tasks.length + refused} of a batch of ${batch.length} submits`;
      const error = new SupervisorError(GrpcStatus.INTERNAL, message, "INTERNAL");
      for (const waiting of batch) this.failed(waiting, error);
      return;
    }
    let next = 0;
    for (let index = 0; index < batch.length; index++) {
      const status = failedRequests[index];
      if (status) this.failed(batch[index]!, SupervisorError.fromStatus(status));
      else this.succeeded(batch[index]!, tasks[next++]!);
    }
  }

  /**
   * A batch failed as a whole: each submit fails with that error (and is
   * retried if it may be). A refusal naming one of its requests is an
   * all-or-nothing answer: this server predates return_partial_success, so
   * the submits are sent again one by one, now and from now on.
   */
  private batchFailed(batch: readonly Waiting[], error: SupervisorError): void {
    if (error.metadata.request_index !== undefined || error.fieldViolations.some((v) => BATCH_FIELD.test(v.field))) {
      this.serverBatches = false;
      for (const waiting of batch) if (!waiting.done) this.sendAlone(waiting);
      return;
    }
    for (const waiting of batch) this.failed(waiting, error);
  }

  private succeeded(waiting: Waiting, task: Task): void {
    waiting.call = undefined;
    settle(waiting, task);
  }

  /** An attempt failed: answered with that error, or retried after a backoff as withRetry would. */
  private failed(waiting: Waiting, error: SupervisorError): void {
    if (waiting.done) return;
    waiting.call = undefined;
    const delayMs = retryDelayMs(error, this.retry, ++waiting.failures);
    if (delayMs === undefined) {
      settle(waiting, error);
      return;
    }
    waiting.lastError = error;
    waiting.backoff = setTimeout(
      () => {
        waiting.backoff = undefined;
        this.enqueue(waiting);
      },
      Math.min(delayMs, MAX_TIMER_DELAY_MS),
    );
  }

  /**
   * The caller aborted. Answered at once: during a backoff with the error
   * that was to be retried (as withRetry does), otherwise CANCELLED, and its
   * call is cancelled if no other submit waits for it.
   */
  private abandon(waiting: Waiting): void {
    if (waiting.done) return;
    if (waiting.backoff) {
      clearTimeout(waiting.backoff);
      settle(waiting, waiting.lastError!);
      return;
    }
    const call = waiting.call;
    settle(waiting, cancelledOnClient());
    if (call && --call.waiting === 0) call.cancel();
  }
}

function settle(waiting: Waiting, outcome: Task | SupervisorError): void {
  waiting.done = true;
  if (waiting.onAbort) waiting.signal!.removeEventListener("abort", waiting.onAbort);
  if (outcome instanceof SupervisorError) waiting.reject(outcome);
  else waiting.resolve(outcome);
}

/** The earliest deadline of the submits a call carries (they share a deadline setting). */
function callOptions(batch: readonly Waiting[]): CallOptions {
  let deadline: number | undefined;
  for (const waiting of batch) {
    if (waiting.deadline !== undefined && (deadline === undefined || waiting.deadline < deadline))
      deadline = waiting.deadline;
  }
  return deadline === undefined ? {} : { deadline };
}
