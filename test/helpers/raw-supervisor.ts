import { Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { type ConnectRequest, type ConnectResponse, RunnerServiceService } from "@supervisor/sdk";
import { silentLogger } from "../../server/src/log.js";
import { withUnimplemented } from "../../server/src/services/unimplemented.js";

/**
 * A hand-driven RunnerService on a real grpc-js server (127.0.0.1:0): the test
 * plays the supervisor, message by message, and sees every message a runner
 * sends exactly as it arrived — the mirror image of raw-runner.ts.
 */
export interface RawSupervisor {
  address: string;
  /** The next message from the runner (bounded wait). */
  next(maxWaitMs?: number): Promise<ConnectRequest>;
  send(message: ConnectResponse["message"]): void;
  /** Ends the runner's stream and stops the server. */
  close(): void;
}

export async function startRawSupervisor(): Promise<RawSupervisor> {
  const inbox: ConnectRequest[] = [];
  const waiters: ((message: ConnectRequest) => void)[] = [];
  let call: ServerDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  const server = new Server();
  server.addService(
    RunnerServiceService,
    withUnimplemented(
      RunnerServiceService,
      {
        connect: (stream: ServerDuplexStream<ConnectRequest, ConnectResponse>) => {
          call = stream;
          stream.on("data", (message: ConnectRequest) => {
            const waiter = waiters.shift();
            if (waiter) waiter(message);
            else inbox.push(message);
          });
          stream.on("error", () => {});
          stream.on("end", () => stream.end());
        },
      },
      silentLogger,
    ),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    next: (maxWaitMs = 10_000) =>
      new Promise((resolve, reject) => {
        const queued = inbox.shift();
        if (queued) return resolve(queued);
        // bound: the wait is on the next message; this only fails it when none comes
        const timer = setTimeout(() => reject(new Error("no message from the runner in time")), maxWaitMs);
        waiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
    send: (message) => {
      if (!call) throw new Error("no runner is connected");
      call.write({ message });
    },
    close: () => {
      call?.end();
      server.forceShutdown();
    },
  };
}
