import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { type CallOptions, type Client, status as GrpcStatus, type Metadata, type ServiceError } from "@grpc/grpc-js";
import { MAX_BATCH_BYTES, MAX_BATCH_REQUESTS } from "./batch-limits.js";
import type { CallSettings } from "./call.js";
import { SupervisorError } from "./errors.js";
import type { Task } from "./gen/supervisor/v1/task.js";
import { TaskServiceService } from "./gen/supervisor/v1/task_service.js";

export interface BatchingOptions {
  /**
   * How long a submit waits for others to share its call, in ms. Default 0:
   * no timer, the submits made before the event loop turns travel together
   * (all those of one `Promise.all`, or answered by one network read). Above
   * 0 it is a timer, which Node fires no sooner than 1 ms.
   */
  lingerMs?: number;
  /** Most submits in one call. Default and most: 1000 (MAX_BATCH_REQUESTS). */
  maxBatchSize?: number;
}

/** One submit attempt waiting for its answer. */
interface Waiting {
  /** The encoded SubmitTaskRequest. */
  bytes: Uint8Array;
  /** When this attempt times out (ms since the epoch), if it has a deadline. */
  deadline: number | undefined;
  resolve: (task: Task) => void;
  reject: (error: SupervisorError) => void;
  /** Answered (or given up on by its caller): later news about it is ignored. */
  done: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The call carrying it, once sent, and how many of that call's submits still wait for it. */
  call: { cancel(): void; waiting: number } | undefined;
}

const SUBMIT = TaskServiceService.submitTask;
const BATCH = TaskServiceService.batchSubmitTasks;
const asIs = (bytes: Buffer) => bytes;
/** Field 1 (requests), length-delimited; field 2 (return_partial_success) = true. */
const REQUESTS_TAG = (1 << 3) | 2;
const PARTIAL_SUCCESS = Buffer.from([(2 << 3) | 0, 1]);
/** A request in a batch adds its tag and its length (at most 4 bytes below 3 MiB) to its bytes. */
const ENTRY_OVERHEAD = 5;

const cancelledOnClient = () => new SupervisorError(GrpcStatus.CANCELLED, "Cancelled on client", "CANCELLED");

/**
 * Coalesces concurrent submits into BatchSubmitTasks calls with
 * return_partial_success, so each still gets its own task or its own error —
 * the very SupervisorError a SubmitTask would have given it. A submit alone
 * goes as a SubmitTask. Submits are grouped by their deadline setting (one
 * call has one deadline); a call is sent with the earliest deadline of its
 * submits, so none waits past its own. A batch stays within the server's
 * limits (MAX_BATCH_REQUESTS, MAX_BATCH_BYTES); a submit too large to share a
 * call goes alone. An aborted submit is answered at once (CANCELLED); the call
 * is cancelled only when every submit in it was.
 */
export class SubmitBatcher {
  /** Waiting submits by their deadline setting (0: none). */
  private readonly queued = new Map<number, Waiting[]>();
  private scheduled = false;
  /** False once the server showed it does not know return_partial_success: every submit goes alone. */
  private serverBatches = true;
  private readonly lingerMs: number;
  private readonly maxBatchSize: number;

  constructor(
    private readonly client: Client,
    private readonly metadata: Metadata,
    options: BatchingOptions = {},
  ) {
    this.lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.maxBatchSize = Math.min(
      MAX_BATCH_REQUESTS,
      Math.max(1, Math.floor(options.maxBatchSize ?? MAX_BATCH_REQUESTS)),
    );
  }

  /** One submit attempt of an encoded SubmitTaskRequest: its task, or the SupervisorError it failed with. */
  submit(bytes: Uint8Array, settings: CallSettings): Promise<Task> {
    return new Promise<Task>((resolve, reject) => {
      const signal = settings.signal;
      if (signal?.aborted) return reject(SupervisorError.from(signal.reason ?? new Error("aborted")));
      const deadlineMs = settings.deadlineMs ?? 0;
      const waiting: Waiting = {
        bytes,
        deadline: deadlineMs ? Date.now() + deadlineMs : undefined,
        resolve,
        reject,
        done: false,
        signal,
        onAbort: undefined,
        call: undefined,
      };
      if (signal) {
        waiting.onAbort = () => this.abandon(waiting);
        signal.addEventListener("abort", waiting.onAbort, { once: true });
      }
      let group = this.queued.get(deadlineMs);
      if (!group) this.queued.set(deadlineMs, (group = []));
      group.push(waiting);
      if (group.length >= this.maxBatchSize) {
        this.queued.delete(deadlineMs);
        this.send(group);
      } else if (!this.scheduled) {
        this.scheduled = true;
        if (this.lingerMs > 0) setTimeout(this.flush, this.lingerMs);
        else setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const groups = [...this.queued.values()];
    this.queued.clear();
    for (const group of groups) this.send(group);
  };

  /** Sends a group's live submits in as few calls as the server's limits allow. */
  private send(group: readonly Waiting[]): void {
    let batch: Waiting[] = [];
    let bytes = PARTIAL_SUCCESS.length;
    for (const waiting of group) {
      if (waiting.done) continue;
      const size = waiting.bytes.length + ENTRY_OVERHEAD;
      if (batch.length > 0 && (batch.length >= this.maxBatchSize || bytes + size > MAX_BATCH_BYTES)) {
        this.sendBatch(batch);
        batch = [];
        bytes = PARTIAL_SUCCESS.length;
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
    const writer = new BinaryWriter();
    for (const waiting of batch) writer.uint32(REQUESTS_TAG).bytes(waiting.bytes);
    writer.raw(PARTIAL_SUCCESS);
    const call = this.client.makeUnaryRequest(
      BATCH.path,
      asIs,
      BATCH.responseDeserialize,
      bufferOf(writer.finish()),
      this.metadata,
      callOptions(batch),
      (error, response) => {
        if (error) return this.batchFailed(batch, error);
        const { tasks, failedRequests } = response!;
        const failed = Object.keys(failedRequests).length;
        if (tasks.length + failed !== batch.length) {
          const message = `the server answered ${tasks.length + failed} of a batch of ${batch.length} submits`;
          for (const waiting of batch) settle(waiting, new SupervisorError(GrpcStatus.INTERNAL, message, "INTERNAL"));
          return;
        }
        let next = 0;
        batch.forEach((waiting, index) => {
          const refused = failedRequests[index];
          settle(waiting, refused ? SupervisorError.fromStatus(refused) : tasks[next++]!);
        });
      },
    );
    const handle = { cancel: () => call.cancel(), waiting: batch.length };
    for (const waiting of batch) waiting.call = handle;
  }

  private sendAlone(waiting: Waiting): void {
    const call = this.client.makeUnaryRequest(
      SUBMIT.path,
      asIs,
      SUBMIT.responseDeserialize,
      bufferOf(waiting.bytes),
      this.metadata,
      callOptions([waiting]),
      (error, response) => settle(waiting, error ? SupervisorError.from(error) : response!.task!),
    );
    waiting.call = { cancel: () => call.cancel(), waiting: 1 };
  }

  /**
   * A batch failed as a whole: each submit fails with that error (and is
   * retried by its caller if it may be). A refusal naming a request_index is an
   * all-or-nothing answer: this server predates return_partial_success, so the
   * submits are sent again one by one, now and from now on.
   */
  private batchFailed(batch: readonly Waiting[], thrown: ServiceError): void {
    const error = SupervisorError.from(thrown);
    if (error.metadata.request_index !== undefined) {
      this.serverBatches = false;
      for (const waiting of batch) if (!waiting.done) this.sendAlone(waiting);
      return;
    }
    for (const waiting of batch) settle(waiting, error);
  }

  /** The caller aborted: answered at once; its call is cancelled if no other submit waits for it. */
  private abandon(waiting: Waiting): void {
    if (waiting.done) return;
    settle(waiting, cancelledOnClient());
    const call = waiting.call;
    if (call && --call.waiting === 0) call.cancel();
  }
}

function settle(waiting: Waiting, outcome: Task | SupervisorError): void {
  if (waiting.done) return;
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

const bufferOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
