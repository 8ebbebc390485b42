import type {
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
} from "@grpc/grpc-js";
import { once } from "node:events";
import { toStatus, type Logger } from "../errors.js";

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server shuts down. */
  signal: AbortSignal;
  metadata: Metadata;
  peer: string;
}

type Call = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function contextOf(call: Call, shutdown: AbortSignal): { ctx: CallContext; controller: AbortController } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  call.once("cancelled", abort);
  shutdown.addEventListener("abort", abort, { once: true });
  controller.signal.addEventListener("abort", () => shutdown.removeEventListener("abort", abort), { once: true });
  return { ctx: { signal: controller.signal, metadata: call.metadata, peer: call.getPeer() }, controller };
}

/** Adapts `async (request, ctx) => response` to grpc-js; every failure goes through toStatus. */
export function unary<Req, Res>(
  log: Logger,
  shutdown: AbortSignal,
  handler: (request: Req, ctx: CallContext) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const { ctx, controller } = contextOf(call as Call, shutdown);
    Promise.resolve()
      .then(() => handler(call.request, ctx))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toStatus(error, log)),
      )
      .finally(() => controller.abort());
  };
}

/**
 * Adapts an async generator to a grpc-js server stream with backpressure: when
 * the transport's buffer is full we wait for "drain" instead of buffering, so
 * a slow client slows its own producer and never grows server memory.
 */
export function serverStream<Req, Res>(
  log: Logger,
  shutdown: AbortSignal,
  handler: (request: Req, ctx: CallContext) => AsyncIterable<Res>,
): handleServerStreamingCall<Req, Res> {
  return async (call: ServerWritableStream<Req, Res>) => {
    const { ctx, controller } = contextOf(call as Call, shutdown);
    try {
      for await (const message of handler(call.request, ctx)) {
        if (ctx.signal.aborted) break;
        if (!call.write(message)) await waitForDrain(call, ctx.signal);
      }
      if (!call.cancelled) call.end();
    } catch (error) {
      if (!call.cancelled) call.emit("error", toStatus(error, log));
    } finally {
      controller.abort();
    }
  };
}

async function waitForDrain(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  try {
    await once(call, "drain", { signal });
  } catch {
    // aborted: the loop sees signal.aborted and stops
  }
}
