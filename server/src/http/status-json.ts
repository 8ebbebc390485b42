import { type FileRegistry, fromBinary, type JsonObject, toJson } from "@bufbuild/protobuf";
import { ERROR_INFO_TYPE, RETRY_INFO_TYPE } from "@supervisor/sdk";
import { Status } from "@supervisor/sdk/gen/google/rpc/status";
import type { Logger } from "../errors.js";
import { rpcStatus } from "../services/to-status.js";
import { httpStatusOf } from "./http-status.js";
import { RpcFailure } from "./rpc-invoker.js";

/** An error answer: its HTTP status, extra headers and the google.rpc.Status as proto JSON. */
export interface ErrorAnswer {
  httpStatus: number;
  headers: Record<string, string>;
  body: JsonObject;
}

/** The google.rpc.Status bytes of any failure: a call's status, or anything else through errors.ts' mapping. */
function statusBytesOf(error: unknown, log: Logger): Uint8Array {
  if (error instanceof RpcFailure) {
    return error.statusBytes ?? Status.encode({ code: error.code, message: error.message, details: [] }).finish();
  }
  return Status.encode(rpcStatus(error, log)).finish();
}

const reasonOf = (status: JsonObject): string | undefined => {
  const details = (status.details ?? []) as JsonObject[];
  return details.find((d) => d["@type"] === ERROR_INFO_TYPE)?.reason as string | undefined;
};

/** Whole seconds to wait, from a RetryInfo's retry_delay ("1.500s" → 2). */
function retryAfterSeconds(status: JsonObject): string | undefined {
  const details = (status.details ?? []) as JsonObject[];
  const delay = details.find((d) => d["@type"] === RETRY_INFO_TYPE)?.retryDelay;
  if (typeof delay !== "string" || !/^\d+(\.\d+)?s$/.test(delay)) return undefined;
  return String(Math.max(1, Math.ceil(Number.parseFloat(delay))));
}

/**
 * The answer to a failed request, as grpc-gateway writes one: the HTTP status of the code (or of an
 * HTTP-layer reason), and the google.rpc.Status as canonical proto JSON with each detail expanded
 * (`{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": …}`). 401 says how to
 * authenticate; RetryInfo becomes Retry-After.
 */
export function errorAnswer(error: unknown, registry: FileRegistry, log: Logger): ErrorAnswer {
  const desc = registry.getMessage("google.rpc.Status")!;
  const body = toJson(desc, fromBinary(desc, statusBytesOf(error, log)), { registry }) as JsonObject;
  const code = typeof body.code === "number" ? body.code : 2;
  body.code = code; // proto JSON leaves a zero out; a status always says its code
  // "@type" first, as grpc-gateway and grpcurl print a detail: the reader sees what it is before what it says.
  if (Array.isArray(body.details)) {
    body.details = body.details.map((detail) => {
      const { "@type": type, ...rest } = detail as JsonObject;
      return { "@type": type ?? null, ...rest };
    });
  }
  const headers: Record<string, string> = {};
  const httpStatus = httpStatusOf(code, reasonOf(body));
  if (httpStatus === 401) headers["www-authenticate"] = 'Bearer realm="supervisor"';
  if (httpStatus === 405) headers.allow = allowOf(body);
  const retryAfter = retryAfterSeconds(body);
  if (retryAfter) headers["retry-after"] = retryAfter;
  return { httpStatus, headers, body };
}

function allowOf(body: JsonObject): string {
  const details = (body.details ?? []) as JsonObject[];
  const info = details.find((d) => d["@type"] === ERROR_INFO_TYPE) as { metadata?: { allow?: string } } | undefined;
  return info?.metadata?.allow ?? "";
}
