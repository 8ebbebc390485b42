import type { ClientDuplexStream, Metadata } from "@grpc/grpc-js";
import type { ConnectRequest, ConnectRequest_Hello, ConnectResponse, RunnerServiceClient } from "@supervisor/sdk";

/** A hand-driven Connect stream: the test plays the runner, message by message. */
export interface RawRunner {
  stream: ClientDuplexStream<ConnectRequest, ConnectResponse>;
  send(message: ConnectRequest["message"]): void;
  /** The next message from the supervisor (bounded wait). */
  next(maxWaitMs?: number): Promise<ConnectResponse>;
  /** Resolves with the stream's error (or undefined when it ended cleanly). */
  ended: Promise<unknown>;
}

export function rawRunner(client: RunnerServiceClient, metadata?: Metadata): RawRunner {
  const stream = metadata ? client.connect(metadata) : client.connect();
  const inbox: ConnectResponse[] = [];
  const waiters: ((message: ConnectResponse) => void)[] = [];
  stream.on("data", (message: ConnectResponse) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const ended = new Promise<unknown>((resolve) => {
    stream.on("error", resolve);
    stream.on("end", () => resolve(undefined));
  });
  return {
    stream,
    send: (message) => stream.write({ message }),
    next: (maxWaitMs = 10_000) =>
      new Promise((resolve, reject) => {
        const queued = inbox.shift();
        if (queued) return resolve(queued);
        // bound: the wait is on the next message; this only fails it when none comes
        const timer = setTimeout(() => reject(new Error("no message from the supervisor in time")), maxWaitMs);
        waiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
    ended,
  };
}

export const hello = (name: string, partial: Partial<ConnectRequest_Hello> = {}): ConnectRequest["message"] => ({
  $case: "hello",
  value: {
    name,
    labels: {},
    kinds: ["subprocess"],
    capacity: 1,
    version: "test",
    activeRunIds: [],
    instanceId: "",
    finishedRunIds: [],
    acceptsBatches: false,
    ...partial,
  },
});
