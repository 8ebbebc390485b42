import { BinaryWriter } from "@bufbuild/protobuf/wire";
import {
  type BatchSubmitTasksRequest,
  ListTasksResponse,
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
 * request's encoded size (its answer must stay readable), and ListTasks and
 * WatchTasks may also send ready-made wire bytes: tasks go out as the
 * protobuf they are stored as (no decode and re-encode per page), and one
 * encoding of a change serves every watcher.
 */
export const TASK_SERVICE_DEFINITION = {
  ...TaskServiceService,
  batchSubmitTasks: {
    ...TaskServiceService.batchSubmitTasks,
    requestDeserialize: (bytes: Buffer) =>
      Object.defineProperty(TaskServiceService.batchSubmitTasks.requestDeserialize(bytes), BODY_BYTES, {
        value: bytes.length,
      }),
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
