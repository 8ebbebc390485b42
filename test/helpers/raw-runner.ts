import type { ClientDuplexStream, Metadata } from "@grpc/grpc-js";
import type { ConnectRequest, ConnectRequest_Hello, ConnectResponse, RunnerServiceClient } from "@supervisor/sdk";
import { call, rpc } from "./grpc.js";
import { waitUntil } from "./wait.js";

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

/**
 * Waits until ListRunners shows every one of `names` (bounded). The welcome goes out before the hello is
 * recorded (ExecutionEngine.hello: everything the runner hears comes after its welcome), so a runner just
 * welcomed may not be listed yet: on SQLite for a setImmediate, on PostgreSQL for a commit's round trips.
 */
export async function runnersListed(client: RunnerServiceClient, names: readonly string[]): Promise<void> {
  const listed = async () => {
    const seen = new Set<string>();
    let pageToken = "";
    do {
      const page = await call(rpc(client, "listRunners"), { pageSize: 1000, pageToken, labelSelector: "" });
      for (const runner of page.runners) seen.add(runner.name);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return names.every((name) => seen.has(name));
  };
  await waitUntil(listed, `runners ${names.join(", ")} to be recorded`);
}
