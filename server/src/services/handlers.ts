import { once } from "node:events";
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
} from "@grpc/grpc-js";
import type { Logger } from "../errors.js";
import { toStatus } from "./to-status.js";

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server shuts down. */
  signal: AbortSignal;
  metadata: Metadata;
  peer: string;
}

type Call = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/**
 * The call's context. Its AbortSignal is made on first use: most unary
 * handlers never look at it, and an AbortController with its listeners on
 * every call was a measurable share of the submit path.
 */
function contextOf(call: Call, shutdown: AbortSignal): { ctx: CallContext; release: () => void } {
  let controller: AbortController | undefined;
  let release = () => {};
  const ctx: CallContext = {
    metadata: call.metadata,
    peer: call.getPeer(),
    get signal() {
      if (!controller) {
        const made = (controller = new AbortController());
        const abort = () => made.abort();
        call.once("cancelled", abort);
        shutdown.addEventListener("abort", abort, { once: true });
        if (shutdown.aborted) made.abort();
        release = () => {
          shutdown.removeEventListener("abort", abort);
          call.removeListener("cancelled", abort);
          made.abort(); // ends anything the handler still has waiting on it
        };
      }
      return controller.signal;
    },
  };
  return { ctx, release: () => release() };
}

/** Adapts `async (request, ctx) => response` to grpc-js; every failure goes through toStatus. */
export function unary<Req, Res>(
  log: Logger,
  shutdown: AbortSignal,
  handler: (request: Req, ctx: CallContext) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const { ctx, release } = contextOf(call as Call, shutdown);
    Promise.resolve()
      .then(() => handler(call.request, ctx))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(toStatus(error, log)),
      )
      .finally(release);
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
    const { ctx, release } = contextOf(call as Call, shutdown);
    try {
      for await (const message of handler(call.request, ctx)) {
        if (ctx.signal.aborted) break;
        if (!call.write(message)) await waitForDrain(call, ctx.signal);
      }
      if (!call.cancelled) call.end();
    } catch (error) {
      if (!call.cancelled) call.emit("error", toStatus(error, log));
    } finally {
      release();
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
