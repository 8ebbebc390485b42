import { BinaryWriter } from "@bufbuild/protobuf/wire";
import {
  type BatchSubmitTasksRequest,
  BatchSubmitTasksResponse,
  ListTasksResponse,
  SubmitTaskResponse,
  TaskServiceService,
  WatchTasksResponse,
} from "@supervisor/sdk";

/** Where a BatchSubmitTasksRequest keeps the size of the body it was decoded from. */
const BODY_BYTES = Symbol("bodyBytes");

/** The encoded size of a batch as it arrived (0 when it was not decoded by the definition below). */
export const batchBytesOf = (request: BatchSubmitTasksRequest): number =>
  (request as { [BODY_BYTES]?: number })[BODY_BYTES] ?? 0;

/**
 * TaskService as generated, except that BatchSubmitTasks remembers its
 * request's encoded size (its answer must stay readable), and the submits,
 * ListTasks and WatchTasks may also send ready-made wire bytes: tasks go out
 * as the protobuf they are stored as (no second encoding of a submitted task,
 * no decode and re-encode per page), and one encoding of a change serves
 * every watcher.
 */
export const TASK_SERVICE_DEFINITION = {
  ...TaskServiceService,
  submitTask: {
    ...TaskServiceService.submitTask,
    responseSerialize: (value: SubmitTaskResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : Buffer.from(SubmitTaskResponse.encode(value).finish()),
  },
  batchSubmitTasks: {
    ...TaskServiceService.batchSubmitTasks,
    requestDeserialize: (bytes: Buffer) =>
      Object.defineProperty(TaskServiceService.batchSubmitTasks.requestDeserialize(bytes), BODY_BYTES, {
        value: bytes.length,
      }),
    responseSerialize: (value: BatchSubmitTasksResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : Buffer.from(BatchSubmitTasksResponse.encode(value).finish()),
  },
  listTasks: {
    ...TaskServiceService.listTasks,
    responseSerialize: (value: ListTasksResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : Buffer.from(ListTasksResponse.encode(value).finish()),
  },
  watchTasks: {
    ...TaskServiceService.watchTasks,
    responseSerialize: (value: WatchTasksResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : Buffer.from(WatchTasksResponse.encode(value).finish()),
  },
} as const;

/**
 * ListTasksResponse wire bytes around stored Task protobufs: tasks (1) as
 * length-delimited bytes — on the wire an embedded message is exactly that —
 * then next_page_token (2) and revision (3). Typed as the response because
 * the definition above sends Buffers as they are.
 */
export function listTasksWire(
  encodedTasks: readonly Uint8Array[],
  nextPageToken: string,
  revision: number,
): ListTasksResponse {
  const writer = new BinaryWriter();
  for (const task of encodedTasks) writer.uint32(10).bytes(task);
  if (nextPageToken) writer.uint32(18).string(nextPageToken);
  if (revision) writer.uint32(24).int64(revision);
  return Buffer.from(writer.finish()) as unknown as ListTasksResponse;
}

/** Bytes of a protobuf varint. */
const varintBytes = (value: number): number =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;

/**
 * Field 1 (`task` / `tasks`: on the wire an embedded message is length-delimited bytes) once per stored
 * encoding, then `tail` (the message's other fields, encoded): in one buffer of the exact size.
 */
function storedTasksWire(encodedTasks: readonly Uint8Array[], tail?: Uint8Array): Buffer {
  let size = tail?.length ?? 0;
  for (const task of encodedTasks) size += 1 + varintBytes(task.length) + task.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const task of encodedTasks) {
    out[at++] = 10;
    let length = task.length;
    while (length >= 0x80) {
      out[at++] = (length & 0x7f) | 0x80;
      length >>>= 7;
    }
    out[at++] = length;
    out.set(task, at);
    at += task.length;
  }
  if (tail) out.set(tail, at);
  return out;
}

/** SubmitTaskResponse wire bytes around the stored task's encoding (typed as the response: see above). */
export const submitTaskWire = (encodedTask: Uint8Array): SubmitTaskResponse =>
  storedTasksWire([encodedTask]) as unknown as SubmitTaskResponse;

/** BatchSubmitTasksResponse wire bytes: the stored tasks' encodings, then failed_requests (2) if any. */
export function batchSubmitTasksWire(
  encodedTasks: readonly Uint8Array[],
  failedRequests: BatchSubmitTasksResponse["failedRequests"] = {},
): BatchSubmitTasksResponse {
  const failed = BatchSubmitTasksResponse.encode({ tasks: [], failedRequests }).finish();
  return storedTasksWire(encodedTasks, failed.length > 0 ? failed : undefined) as unknown as BatchSubmitTasksResponse;
}
