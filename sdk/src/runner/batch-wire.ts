import { BinaryWriter } from "@bufbuild/protobuf/wire";

/** Items one Connect `batch` may carry, either way (the supervisor refuses a runner's batch with more). */
export const MAX_BATCH_ITEMS = 1000;

/**
 * `batch` is field 6 of both ConnectRequest and ConnectResponse, its items
 * field 1, and an item's oneof keeps the field numbers of the message it
 * stands for: so an item is encoded exactly like that message sent alone, and
 * a batch is those encodings framed as length-delimited fields.
 */
const BATCH_TAG = (6 << 3) | 2;
const ITEM_TAG = (1 << 3) | 2;

/** A ConnectRequest or ConnectResponse `batch` from the items' encodings as single messages. */
export function batchWire(items: readonly Uint8Array[]): Buffer {
  const writer = new BinaryWriter();
  writer.uint32(BATCH_TAG).fork();
  for (const item of items) writer.uint32(ITEM_TAG).bytes(item);
  writer.join();
  return asBuffer(writer.finish());
}

/** The same bytes as a Buffer, without a copy (grpc-js writes Buffers). */
export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
