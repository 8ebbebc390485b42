import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import type { Authenticator } from "../auth.js";
import type { ServerMetrics } from "./server-metrics.js";

export interface MetricsEndpoint {
  /** host:port actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Any valid token may scrape (when authentication is on): the same check as a gRPC call's. */
function authorized(auth: Authenticator, request: IncomingMessage): boolean {
  if (!auth.enabled) return true;
  const metadata = new Metadata();
  if (request.headers.authorization) metadata.set("authorization", request.headers.authorization);
  try {
    auth.authenticate(metadata, request.socket.remoteAddress ?? "");
    return true;
  } catch {
    return false;
  }
}

/** Serves GET /metrics (Prometheus text format) on its own HTTP listener, `listen` as host:port. */
export async function startMetricsEndpoint(
  listen: string,
  metrics: ServerMetrics,
  auth: Authenticator,
): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (!authorized(auth, request)) {
      response
        .writeHead(401, { "www-authenticate": 'Bearer realm="supervisor"', "content-type": "text/plain" })
        .end("a valid token is required: Authorization: Bearer <token>\n");
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  const separator = listen.lastIndexOf(":");
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(separator + 1));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new Error(`cannot serve metrics on ${listen}: ${error.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    address: `${shownHost}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
