import type { IncomingMessage, ServerResponse } from "node:http";
import type { Authenticator } from "../auth.js";
import type { Config } from "../config.js";
import type { Logger } from "../errors.js";
import type { RpcMeter } from "../metrics/grpc-metrics.js";
import type { MetricSources } from "../metrics/server-metrics.js";
import { loadDashboardFiles } from "./dashboard/dashboard-files.js";
import { jsonEndpoint } from "./dashboard/json-endpoint.js";
import { OVERVIEW_PATH, overviewOf } from "./dashboard/overview.js";
import type { RecentActivity } from "./dashboard/recent-activity.js";
import { serveDashboard } from "./dashboard/serve-dashboard.js";
import { SESSION_PATH, sessionOf } from "./dashboard/session.js";
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
  options: {
    auth: Authenticator;
    maxBodyBytes: number;
    log: Logger;
    meter?: RpcMeter;
    /** What the dashboard's overview reads: the engine's sizes and the last hour's task changes. */
    overview: { sources: MetricSources; activity: RecentActivity };
  },
): Promise<HttpEndpoint> {
  const registry = protoRegistry();
  const inProcess = new InProcessInvoker(served);
  const api = httpApi({
    bindings: httpBindings(registry),
    invoker: options.meter ? new MeteredInvoker(inProcess, options.meter) : inProcess,
    registry,
    authEnabled: options.auth.enabled,
    maxBodyBytes: options.maxBodyBytes,
    log: options.log,
  });
  const dashboard = loadDashboardFiles();
  const { auth, log, overview } = options;
  const session = jsonEndpoint(auth, registry, log, (principal) => sessionOf(principal, auth.enabled));
  const overviewEndpoint = jsonEndpoint(auth, registry, log, (principal) =>
    overviewOf(principal, overview.sources, overview.activity),
  );
  // /v1/… is the API; any other GET is the dashboard (its page, assets, or its own routes); other methods
  // go to the API, which says no route takes them.
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0]!;
    const read = request.method === "GET" || request.method === "HEAD";
    if (!read || path === "/v1" || path.startsWith("/v1/")) api(request, response);
    else if (path === SESSION_PATH) session(request, response);
    else if (path === OVERVIEW_PATH) overviewEndpoint(request, response);
    else serveDashboard(dashboard, request, response);
  };
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
