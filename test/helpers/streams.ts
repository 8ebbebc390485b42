import type { ClientReadableStream } from "@grpc/grpc-js";

/**
 * Reads a server stream as an async iterator of messages; the iterator
 * throws the stream's error. Cancels the call when the consumer stops early.
 */
export async function* messages<T>(stream: ClientReadableStream<T>): AsyncGenerator<T> {
  try {
    for await (const message of stream as AsyncIterable<T>) yield message;
  } finally {
    stream.cancel();
  }
}

/** Collects messages until `until` says stop (inclusive) or the stream ends. */
export async function collect<T>(
  stream: ClientReadableStream<T>,
  until: (message: T, all: T[]) => boolean,
): Promise<T[]> {
  const all: T[] = [];
  for await (const message of messages(stream)) {
    all.push(message);
    if (until(message, all)) break;
  }
  return all;
}
