import type { IncomingMessage, ServerResponse } from "node:http";
import { type FileRegistry, fromBinary, type JsonObject, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { ErrorReason } from "@supervisor/sdk";
import type { Logger } from "../errors.js";
import { EventStreamWriter, streamFormatOf } from "./event-stream.js";
import type { HttpBinding } from "./http-rules.js";
import { readJsonBody } from "./read-body.js";
import { requestBytes } from "./request-message.js";
import { type Route, Router } from "./router.js";
import type { CallInfo, RpcInvoker } from "./rpc-invoker.js";
import { refuseForeignPages } from "./same-origin.js";
import { type ErrorAnswer, errorAnswer } from "./status-json.js";
import { resumableOf, resumeQuery } from "./stream-resume.js";

export interface HttpApiSettings {
  bindings: readonly HttpBinding[];
  invoker: RpcInvoker;
  registry: FileRegistry;
  /** With authentication off, only loopback Host headers are served (same-origin.ts). */
  authEnabled: boolean;
  /** The largest request body, in bytes: the gRPC server's message limit. */
  maxBodyBytes: number;
  log: Logger;
}

/** Headers that become gRPC metadata: the credentials and the W3C trace context, as a gRPC client sends them. */
const FORWARDED_HEADERS = ["authorization", "traceparent", "tracestate"];

function metadataOf(request: IncomingMessage): Metadata {
  const metadata = new Metadata();
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers[name];
    if (typeof value !== "string") continue;
    try {
      metadata.set(name, value);
    } catch {
      // a value gRPC metadata cannot carry: left out, as a proxy would (no token = TOKEN_MISSING)
    }
  }
  return metadata;
}

/** host:port of the client, as grpc-js's getPeer() puts it. */
function peerOf(request: IncomingMessage): string {
  const { remoteAddress = "", remotePort = 0 } = request.socket;
  return remoteAddress.includes(":") ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
}

const JSON_HEADERS = {
  "content-type": "application/json",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

function respond(response: ServerResponse, httpStatus: number, body: JsonValue, headers: Record<string, string> = {}) {
  if (response.headersSent) {
    response.destroy(); // a stream already under way: nothing sensible can be added
    return;
  }
  response.writeHead(httpStatus, { ...JSON_HEADERS, ...headers }).end(JSON.stringify(body));
}

const respondError = (response: ServerResponse, answer: ErrorAnswer) =>
  respond(response, answer.httpStatus, answer.body, answer.headers);

/**
 * The HTTP/JSON API: each request is routed by the google.api.http rules, turned into the request
 * message (path, query, body), handed to the same gRPC handlers, and answered with canonical proto
 * JSON; a server stream as server-sent events or NDJSON; any failure as a google.rpc.Status.
 */
export function httpApi(settings: HttpApiSettings): (request: IncomingMessage, response: ServerResponse) => void {
  const { invoker, registry, log } = settings;
  const router = new Router(settings.bindings);

  async function unary(route: Route, bytes: Uint8Array, info: CallInfo, response: ServerResponse) {
    const { binding } = route;
    const output = binding.method.output;
    const answer = await invoker.unary(binding.rpc, bytes, info);
    const json = toJson(output, fromBinary(output, answer), { registry }) as JsonObject;
    const field = binding.responseBody && output.fields.find((f) => f.name === binding.responseBody)?.jsonName;
    respond(response, 200, field ? (json[field] ?? null) : json);
  }

  async function stream(
    route: Route,
    bytes: Uint8Array,
    info: CallInfo,
    request: IncomingMessage,
    response: ServerResponse,
  ) {
    const { binding } = route;
    const output = binding.method.output;
    const resumable = resumableOf(binding.rpc);
    const writer = new EventStreamWriter(response, streamFormatOf(request.headers.accept));
    try {
      for await (const message of invoker.serverStream(binding.rpc, bytes, info)) {
        const json = toJson(output, fromBinary(output, message), { registry }) as JsonObject;
        await writer.message(json, resumable?.eventId(json));
        if (info.signal.aborted) return;
      }
      if (!info.signal.aborted) writer.end(); // a client gone leaves nothing to end
    } catch (error) {
      if (info.signal.aborted) return; // the client left: nobody to tell
      const answer = errorAnswer(error, registry, log);
      if (writer.started) writer.error(answer.body);
      else respondError(response, answer);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const gone = new AbortController();
    response.once("close", () => gone.abort());
    try {
      refuseForeignPages(request, settings.authEnabled);
      const url = new URL(request.url ?? "/", "http://localhost");
      const route = router.route(request.method ?? "GET", url.pathname);
      const body = await readJsonBody(request, settings.maxBodyBytes);
      const resumable = resumableOf(route.binding.rpc);
      const lastEventId = request.headers["last-event-id"];
      if (resumable && typeof lastEventId === "string" && lastEventId !== "") {
        resumeQuery(resumable, url.searchParams, lastEventId);
      }
      const bytes = requestBytes(
        route.binding,
        { variables: route.variables, query: url.searchParams, body },
        registry,
      );
      const info: CallInfo = { metadata: metadataOf(request), peer: peerOf(request), signal: gone.signal };
      if (route.binding.method.methodKind === "server_streaming") await stream(route, bytes, info, request, response);
      else await unary(route, bytes, info, response);
    } catch (error) {
      const answer = errorAnswer(error, registry, log);
      // A body refused for its size may still be arriving: answer, then close rather than read it all.
      if ((answer.body.details as JsonObject[] | undefined)?.some((d) => d.reason === ErrorReason.REQUEST_TOO_LARGE)) {
        answer.headers.connection = "close";
      }
      respondError(response, answer);
    }
  }

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      log("HTTP API: answering a request failed", error);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
}
