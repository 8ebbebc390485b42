import { status } from "@grpc/grpc-js";
import type { RpcMeter } from "../metrics/grpc-metrics.js";
import { type CallInfo, RpcFailure, type RpcInvoker } from "./rpc-invoker.js";

const codeOf = (error: unknown): number => (error instanceof RpcFailure ? error.code : status.UNKNOWN);

/** The HTTP API's calls counted as the RPCs they are (grpc_server_* metrics), as the gRPC server counts its own. */
export class MeteredInvoker implements RpcInvoker {
  constructor(
    private readonly inner: RpcInvoker,
    private readonly meter: RpcMeter,
  ) {}

  async unary(rpc: string, request: Uint8Array, info: CallInfo): Promise<Uint8Array> {
    const end = this.meter(`/${rpc}`, false, false);
    try {
      const response = await this.inner.unary(rpc, request, info);
      end(status.OK);
      return response;
    } catch (error) {
      end(codeOf(error));
      throw error;
    }
  }

  async *serverStream(rpc: string, request: Uint8Array, info: CallInfo): AsyncIterable<Uint8Array> {
    const end = this.meter(`/${rpc}`, false, true);
    try {
      yield* this.inner.serverStream(rpc, request, info);
      end(status.OK);
    } catch (error) {
      end(codeOf(error));
      throw error;
    } finally {
      end(status.CANCELLED); // the HTTP client went away first (no-op once ended)
    }
  }
}
