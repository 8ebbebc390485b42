import { EventEmitter } from "node:events";
import { type Metadata, status } from "@grpc/grpc-js";
import { STATUS_DETAILS_KEY } from "@supervisor/sdk";
import { type CallInfo, RpcFailure, type RpcInvoker } from "./rpc-invoker.js";
import type { ServedMethod, ServedMethods } from "./served-methods.js";

/** Messages a stream may queue before `write` says "wait for drain" (grpc-js's object-mode high water mark). */
const HIGH_WATER = 16;

/** The status a handler ended a call with (grpc-js's ServerErrorResponse / StatusObject), as a failure. */
function failureOf(error: unknown): RpcFailure {
  const { code, details, message, metadata } = error as {
    code?: number;
    details?: string;
    message?: string;
    metadata?: Metadata;
  };
  const bytes = metadata?.get(STATUS_DETAILS_KEY)[0];
  return new RpcFailure(
    code ?? status.UNKNOWN,
    details ?? message ?? "",
    Buffer.isBuffer(bytes) ? new Uint8Array(bytes) : undefined,
  );
}

/**
 * What a grpc-js handler uses of its call object (request, metadata, peer, "cancelled"), made from an
 * HTTP request. The HTTP client going away is the call being cancelled.
 */
class InProcessCall extends EventEmitter {
  cancelled = false;
  readonly metadata: Metadata;
  private readonly peer: string;

  constructor(
    readonly request: unknown,
    info: CallInfo,
    private readonly path: string,
  ) {
    super();
    this.metadata = info.metadata;
    this.peer = info.peer;
    if (info.signal.aborted) this.cancelled = true;
    else info.signal.addEventListener("abort", () => this.cancel(), { once: true });
  }

  getPeer(): string {
    return this.peer;
  }

  getPath(): string {
    return `/${this.path}`;
  }

  getDeadline(): number {
    return Number.POSITIVE_INFINITY;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit("cancelled", "cancelled");
  }
}

/**
 * A server stream's call: `write` queues the encoded message for the HTTP side and says false past
 * HIGH_WATER, and "drain" is emitted when the HTTP side has taken them; so a slow HTTP client slows
 * the handler exactly as a slow gRPC client does (handlers.ts waits for "drain").
 */
class InProcessStream extends InProcessCall {
  private readonly queue: Buffer[] = [];
  private ended = false;
  private failure: RpcFailure | undefined;
  private wantsDrain = false;
  private wake: (() => void) | undefined;

  constructor(
    request: unknown,
    info: CallInfo,
    path: string,
    private readonly serialize: (value: unknown) => Buffer,
  ) {
    super(request, info, path);
    // grpc-js listens to its own "error" emits (the handler's way to end with a status): so must this.
    this.on("error", (error: unknown) => {
      if (this.ended) return;
      this.failure = failureOf(error);
      this.finish();
    });
  }

  write(message: unknown): boolean {
    if (this.ended || this.cancelled) return false;
    this.queue.push(this.serialize(message));
    this.wake?.();
    if (this.queue.length < HIGH_WATER) return true;
    this.wantsDrain = true;
    return false;
  }

  end(): void {
    if (!this.ended) this.finish();
  }

  private finish(): void {
    this.ended = true;
    this.emit("finish");
    this.wake?.();
  }

  override cancel(): void {
    super.cancel();
    this.wake?.();
  }

  async *messages(): AsyncGenerator<Uint8Array> {
    try {
      while (true) {
        const next = this.queue.shift();
        if (next) {
          if (this.wantsDrain && this.queue.length === 0) {
            this.wantsDrain = false;
            this.emit("drain");
          }
          yield next;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended || this.cancelled) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      if (!this.ended) this.cancel(); // the HTTP side stopped reading
    }
  }
}

/**
 * Calls the server's own guarded handlers in this process: the request bytes go through the method's
 * request deserializer (the safe one grpc-js was given), the answer through its response serializer.
 * No socket, no second HTTP/2 stack, and mutual TLS needs no client certificate of the server's own.
 */
export class InProcessInvoker implements RpcInvoker {
  constructor(private readonly methods: ServedMethods) {}

  private served(rpc: string): ServedMethod {
    const served = this.methods.get(rpc);
    // Unreachable with the descriptor set and server in step (a test checks every route has a handler).
    if (!served) throw new RpcFailure(status.UNIMPLEMENTED, `${rpc} is not served`);
    return served;
  }

  unary(rpc: string, request: Uint8Array, info: CallInfo): Promise<Uint8Array> {
    const { definition, handler } = this.served(rpc);
    const call = new InProcessCall(definition.requestDeserialize(Buffer.from(request)), info, rpc);
    return new Promise((resolve, reject) => {
      const callback = (error: unknown, value?: unknown) => {
        if (error) reject(failureOf(error));
        else resolve(definition.responseSerialize(value));
      };
      (handler as (call: unknown, callback: unknown) => void)(call, callback);
    });
  }

  serverStream(rpc: string, request: Uint8Array, info: CallInfo): AsyncIterable<Uint8Array> {
    const { definition, handler } = this.served(rpc);
    const call = new InProcessStream(definition.requestDeserialize(Buffer.from(request)), info, rpc, (value) =>
      definition.responseSerialize(value),
    );
    (handler as (call: unknown) => void)(call);
    return call.messages();
  }
}
