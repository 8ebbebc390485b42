import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { SubmitTaskRequest } from "./gen/supervisor/v1/task_service.js";

/**
 * One writer for every submit: a fresh BinaryWriter per request allocates and
 * grows its buffer each time, which made encoding a typical request twice as
 * slow. `finish()` hands out a copy and resets it.
 */
const writer = new BinaryWriter();

/** The encoded SubmitTaskRequest, once per submit: its size bounds a batch, and every attempt sends these bytes. */
export function encodeSubmit(request: SubmitTaskRequest): Uint8Array {
  try {
    return SubmitTaskRequest.encode(request, writer).finish();
  } catch (error) {
    writer.finish(); // a half-written request must not prefix the next one
    throw error;
  }
}

/** BatchSubmitTasksRequest.requests (field 1, length-delimited). */
const REQUESTS_TAG = (1 << 3) | 2;
/** BatchSubmitTasksRequest.return_partial_success (field 2, varint) = true. */
const PARTIAL_SUCCESS = [(2 << 3) | 0, 1] as const;
/** What the batch's own fields add to the requests' entries. */
export const BATCH_FIXED_BYTES = PARTIAL_SUCCESS.length;

const varintSize = (value: number) =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;

/** The bytes one encoded request takes in a batch: its tag, its length and itself. */
export const batchEntryBytes = (request: Uint8Array): number => 1 + varintSize(request.length) + request.length;

/**
 * The BatchSubmitTasksRequest with `requests` (encoded SubmitTaskRequests) and
 * return_partial_success: on the wire a repeated message field is each
 * element's bytes behind its tag and length, so the requests are copied in as
 * they are, into one buffer of the exact size.
 */
export function partialSuccessBatch(requests: readonly Uint8Array[]): Buffer {
  let size = BATCH_FIXED_BYTES;
  for (const request of requests) size += batchEntryBytes(request);
  const frame = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const request of requests) {
    frame[pos++] = REQUESTS_TAG;
    let length = request.length;
    while (length > 0x7f) {
      frame[pos++] = (length & 0x7f) | 0x80;
      length >>>= 7;
    }
    frame[pos++] = length;
    frame.set(request, pos);
    pos += request.length;
  }
  frame[pos++] = PARTIAL_SUCCESS[0];
  frame[pos++] = PARTIAL_SUCCESS[1];
  return frame;
}
