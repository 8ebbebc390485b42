import type { Config } from "../config.js";
import type { Logger } from "../errors.js";
import type { RpcMeter } from "../metrics/grpc-metrics.js";
import { httpApi } from "./http-api.js";
import { type HttpEndpoint, HttpListenError, startHttpEndpoint } from "./http-endpoint.js";
import { httpBindings } from "./http-rules.js";
import { InProcessInvoker } from "./in-process-invoker.js";
import { MeteredInvoker } from "./metered-invoker.js";
import { protoRegistry } from "./proto-registry.js";
import type { ServedMethods } from "./served-methods.js";

export type { HttpEndpoint } from "./http-endpoint.js";

/**
 * Serves the HTTP/JSON API on config.httpListen, calling `served` (the gRPC server's own guarded
 * handlers) in process, with the gRPC server's TLS files and message limit. The command's default
 * address (dev's 127.0.0.1:8080) taken by something else, it serves on a free port of the same host
 * and says so; an address asked for is a must.
 */
export async function startHttpApi(
  config: Config,
  served: ServedMethods,
  options: { authEnabled: boolean; maxBodyBytes: number; log: Logger; meter?: RpcMeter },
): Promise<HttpEndpoint> {
  const registry = protoRegistry();
  const inProcess = new InProcessInvoker(served);
  const handler = httpApi({
    bindings: httpBindings(registry),
    invoker: options.meter ? new MeteredInvoker(inProcess, options.meter) : inProcess,
    registry,
    authEnabled: options.authEnabled,
    maxBodyBytes: options.maxBodyBytes,
    log: options.log,
  });
  const tls =
    config.tlsCert && config.tlsKey
      ? { cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa }
      : undefined;
  const listen = config.httpListen!;
  try {
    return await startHttpEndpoint(listen, handler, tls);
  } catch (error) {
    if (!config.httpListenFallback || !(error instanceof HttpListenError) || error.code !== "EADDRINUSE") throw error;
    const endpoint = await startHttpEndpoint(`${listen.slice(0, listen.lastIndexOf(":"))}:0`, handler, tls);
    options.log(
      `${error.message}: serving it on ${endpoint.address} instead (give --http-listen host:port to choose)`,
      undefined,
      {
        level: "warn",
      },
    );
    return endpoint;
  }
}
