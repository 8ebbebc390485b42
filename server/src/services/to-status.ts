import { Metadata, type StatusObject, status } from "@grpc/grpc-js";
import {
  BAD_REQUEST_TYPE,
  ERROR_DOMAIN,
  ERROR_INFO_TYPE,
  ErrorReason,
  type FieldViolation,
  STATUS_DETAILS_KEY,
} from "@supervisor/sdk";
import { BadRequest, ErrorInfo } from "@supervisor/sdk/gen/google/rpc/error_details";
import { Status } from "@supervisor/sdk/gen/google/rpc/status";
import { Code, DomainError, internal, type Logger } from "../errors.js";

/** The one place a domain code becomes a gRPC status code. */
export const GRPC_STATUS: Record<Code, status> = {
  [Code.Canceled]: status.CANCELLED,
  [Code.InvalidArgument]: status.INVALID_ARGUMENT,
  [Code.DeadlineExceeded]: status.DEADLINE_EXCEEDED,
  [Code.NotFound]: status.NOT_FOUND,
  [Code.AlreadyExists]: status.ALREADY_EXISTS,
  [Code.PermissionDenied]: status.PERMISSION_DENIED,
  [Code.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
  [Code.FailedPrecondition]: status.FAILED_PRECONDITION,
  [Code.Aborted]: status.ABORTED,
  [Code.OutOfRange]: status.OUT_OF_RANGE,
  [Code.Unimplemented]: status.UNIMPLEMENTED,
  [Code.Internal]: status.INTERNAL,
  [Code.Unavailable]: status.UNAVAILABLE,
  [Code.Unauthenticated]: status.UNAUTHENTICATED,
};

function asDomainError(error: unknown, log: Logger): DomainError {
  if (error instanceof DomainError) {
    // The store failing is the operator's concern too: say so in the log, with its cause.
    if (error.reason === ErrorReason.STORE_UNAVAILABLE) {
      log(`store unavailable (${error.metadata.cause})`, error.cause, { reason: error.reason });
    }
    return error;
  }
  log("internal error", error);
  return internal();
}

/**
 * Bounds on what an error carries back: a message echoing a huge bad value,
 * or one violation per element of a huge list, must not make the status
 * trailers too large to deliver (the client would then never see the error).
 */
const MAX_MESSAGE = 1024;
const MAX_FIELD_TEXT = 256;
const MAX_VIOLATIONS = 50;
/**
 * Cut to at most `max` UTF-16 units without splitting a surrogate pair: a lone
 * surrogate makes grpc-js's encodeURIComponent of grpc-message throw, and the
 * status is then never sent (the call hangs).
 */
function clip(text: string, max: number): string {
  const whole = text.replace(LONE_SURROGATE, "\uFFFD"); // from a slice elsewhere
  if (whole.length <= max) return whole;
  const end = isHighSurrogate(whole.charCodeAt(max - 2)) ? max - 2 : max - 1;
  return `${whole.slice(0, end)}…`;
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;

function bounded(error: DomainError): {
  message: string;
  metadata: Record<string, string>;
  violations: FieldViolation[];
} {
  const violations = error.violations
    .slice(0, MAX_VIOLATIONS)
    .map((v) => ({ field: clip(v.field, MAX_FIELD_TEXT), description: clip(v.description, MAX_FIELD_TEXT) }));
  if (error.violations.length > MAX_VIOLATIONS) {
    // Named after the first one left out, so every violation has a field.
    const more = error.violations.length - MAX_VIOLATIONS;
    violations.push({
      field: clip(error.violations[MAX_VIOLATIONS]!.field, MAX_FIELD_TEXT),
      description: `this and ${more - 1} more bad fields not listed`,
    });
  }
  const metadata = Object.fromEntries(
    Object.entries(error.metadata)
      .slice(0, 20)
      .map(([k, v]) => [clip(k, 64), clip(v, MAX_FIELD_TEXT)]),
  );
  return { message: clip(error.message, MAX_MESSAGE), metadata, violations };
}

/**
 * Maps any thrown value to a google.rpc.Status: ErrorInfo always, BadRequest
 * for field violations. Anything that is not a DomainError is a bug:
 * INTERNAL, logged, its message never echoed. Also what a BatchSubmitTasks
 * with return_partial_success answers for each refused request.
 */
export function rpcStatus(error: unknown, log: Logger): Status {
  const domainError = asDomainError(error, log);
  const code = GRPC_STATUS[domainError.code];
  const { message, metadata: errorMetadata, violations } = bounded(domainError);
  const details = [
    {
      typeUrl: ERROR_INFO_TYPE,
      value: Buffer.from(
        ErrorInfo.encode({ reason: domainError.reason, domain: ERROR_DOMAIN, metadata: errorMetadata }).finish(),
      ),
    },
  ];
  if (violations.length > 0) {
    details.push({
      typeUrl: BAD_REQUEST_TYPE,
      value: Buffer.from(
        BadRequest.encode({
          fieldViolations: violations.map((v) => ({ field: v.field, description: v.description, reason: "" })),
        }).finish(),
      ),
    });
  }
  return { code, message, details };
}

/** A grpc-js status carrying `rpcStatus(error)` in the grpc-status-details-bin trailer. */
export function toStatus(
  error: unknown,
  log: Logger,
): Partial<StatusObject> & { code: status; details: string; metadata: Metadata } {
  const rpc = rpcStatus(error, log);
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode(rpc).finish()));
  return { code: rpc.code as status, details: rpc.message, metadata };
}
