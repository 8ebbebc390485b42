import type { IncomingMessage, ServerResponse } from "node:http";
import type { FileRegistry } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import type { Authenticator, Principal } from "../../auth.js";
import type { Logger } from "../../errors.js";
import { refuseForeignPages } from "../same-origin.js";
import { errorAnswer } from "../status-json.js";

/**
 * A GET endpoint of the dashboard's own (not an RPC), guarded as the API is: the same foreign-page
 * refusal, the same Bearer token, its failures the same google.rpc.Status JSON. `answer` may throw a
 * DomainError (e.g. a role refused).
 */
export function jsonEndpoint(
  auth: Authenticator,
  registry: FileRegistry,
  log: Logger,
  answer: (principal: Principal) => unknown,
) {
  return (request: IncomingMessage, response: ServerResponse) => {
    let body: unknown;
    let status = 200;
    let headers: Record<string, string> = {};
    try {
      refuseForeignPages(request, auth.enabled);
      const metadata = new Metadata();
      const header = request.headers.authorization;
      if (typeof header === "string") metadata.set("authorization", header);
      body = answer(auth.authenticate(metadata, request.socket.remoteAddress ?? ""));
    } catch (error) {
      ({ httpStatus: status, headers, body } = errorAnswer(error, registry, log));
    }
    response.writeHead(status, {
      ...headers,
      "content-type": "application/json",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    response.end(JSON.stringify(body));
  };
}
