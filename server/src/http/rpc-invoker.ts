import type { Metadata } from "@grpc/grpc-js";

/** What the HTTP side knows of a call besides its request. */
export interface CallInfo {
  /** The gRPC metadata the HTTP headers stand for (authorization, traceparent). */
  metadata: Metadata;
  /** host:port of the HTTP client, as grpc-js names a peer. */
  peer: string;
  /** Aborted when the HTTP client goes away. */
  signal: AbortSignal;
}

/** A call that ended with a status other than OK, as grpc-js reports it. */
export class RpcFailure extends Error {
  override readonly name = "RpcFailure";
  constructor(
    readonly code: number,
    message: string,
    /** The google.rpc.Status of the grpc-status-details-bin trailer, when the call sent one. */
    readonly statusBytes?: Uint8Array,
  ) {
    super(message);
  }
}

/**
 * Calls a gRPC method with protobuf bytes in and out. The HTTP API is written against this, so the
 * transport behind it is a choice: the server's own handlers in process (in-process-invoker.ts), or
 * a gRPC client over loopback (the bench compares the two).
 */
export interface RpcInvoker {
  unary(rpc: string, request: Uint8Array, info: CallInfo): Promise<Uint8Array>;
  /** Each response message's bytes; throws RpcFailure when the stream ends with an error. */
  serverStream(rpc: string, request: Uint8Array, info: CallInfo): AsyncIterable<Uint8Array>;
}
