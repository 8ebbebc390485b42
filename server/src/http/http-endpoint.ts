import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

export interface HttpEndpoint {
  /** host:port actually bound. */
  address: string;
  /** http://host:port or https://host:port. */
  url: string;
  /** Stops accepting; open requests and streams get `graceMs` to end, then their connections are cut. */
  close(graceMs: number): Promise<void>;
}

/** The gRPC server's certificate files: the HTTP API is served with the same ones (mutual TLS included). */
export interface TlsFiles {
  cert: string;
  key: string;
  clientCa?: string;
}

function createServer(handler: (request: IncomingMessage, response: ServerResponse) => void, tls?: TlsFiles): Server {
  if (!tls) return createHttpServer(handler);
  const clientCa = tls.clientCa ? readFileSync(tls.clientCa) : undefined;
  return createHttpsServer(
    {
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      ca: clientCa,
      requestCert: clientCa !== undefined,
      rejectUnauthorized: clientCa !== undefined,
    },
    handler,
  );
}

/** Error of a listen that failed; `code` is the system's (EADDRINUSE when the port is taken). */
export class HttpListenError extends Error {
  override readonly name = "HttpListenError";
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Serves `handler` on `listen` (host:port; port 0 = any free port), over TLS when `tls` is given. */
export async function startHttpEndpoint(
  listen: string,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  tls?: TlsFiles,
): Promise<HttpEndpoint> {
  const server = createServer(handler, tls);
  const separator = listen.lastIndexOf(":");
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(separator + 1));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new HttpListenError(`cannot serve the HTTP API on ${listen}: ${error.message}`, error.code)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const address = `${host.includes(":") ? `[${host}]` : host}:${bound}`;
  return {
    address,
    url: `${tls ? "https" : "http"}://${address}`,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
