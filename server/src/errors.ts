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

/**
 * A failure the client should hear about, in domain terms. Core and store code
 * throw these; `toStatus` is the only place that turns them (or anything else)
 * into a gRPC status. Services never build statuses by hand.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly code: status,
    readonly reason: ErrorReason,
    message: string,
    readonly metadata: Record<string, string> = {},
    readonly violations: FieldViolation[] = [],
  ) {
    super(message);
  }
}

export const invalidArgument = (violations: FieldViolation[], reason: ErrorReason = ErrorReason.INVALID_REQUEST) =>
  new DomainError(
    status.INVALID_ARGUMENT,
    reason,
    `invalid request: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    {},
    violations,
  );

export const taskNotFound = (id: string) =>
  new DomainError(status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND, `task ${id} not found`, { task_id: id });

export const runnerNotFound = (id: string) =>
  new DomainError(status.NOT_FOUND, ErrorReason.RUNNER_NOT_FOUND, `runner ${id} not found`, { runner_id: id });

export const runnerConnected = (id: string, name: string) =>
  new DomainError(
    status.FAILED_PRECONDITION,
    ErrorReason.RUNNER_CONNECTED,
    `runner ${name} (${id}) is connected: only a disconnected runner can be forgotten; stop it first, ` +
      "then wait until it shows DISCONNECTED",
    { runner_id: id, runner_name: name },
  );

export const notImplemented = (method: string) =>
  new DomainError(status.UNIMPLEMENTED, ErrorReason.NOT_IMPLEMENTED, `${method} is not implemented yet`, {
    method,
  });

export const shuttingDown = () =>
  new DomainError(status.UNAVAILABLE, ErrorReason.SHUTTING_DOWN, "the supervisor is shutting down");

export type Logger = (message: string, error?: unknown) => void;

/** SQLite errors that mean "the disk, not the request": retryable once space or permissions return. */
const STORE_UNAVAILABLE_CODES = new Set([
  "SQLITE_FULL",
  "SQLITE_READONLY",
  "SQLITE_IOERR",
  "SQLITE_BUSY",
  "SQLITE_CANTOPEN",
]);

function asDomainError(error: unknown, log: Logger): DomainError {
  if (error instanceof DomainError) return error;
  const sqliteCode = (error as { code?: unknown } | null)?.code;
  if (typeof sqliteCode === "string" && [...STORE_UNAVAILABLE_CODES].some((c) => sqliteCode.startsWith(c))) {
    log(`store unavailable (${sqliteCode})`, error);
    return new DomainError(
      status.UNAVAILABLE,
      ErrorReason.STORE_UNAVAILABLE,
      "the task store cannot be written now; retry later",
      {
        sqlite_code: sqliteCode,
      },
    );
  }
  log("internal error", error);
  // Never echo the internal message: it may hold paths or SQL. The log has it.
  return new DomainError(status.INTERNAL, ErrorReason.INTERNAL, "internal error (logged by the server)");
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
 * Maps any thrown value to a grpc-js status with google.rpc.Status details
 * (ErrorInfo always, BadRequest for field violations) in the
 * grpc-status-details-bin trailer.
 */
export function toStatus(
  error: unknown,
  log: Logger,
): Partial<StatusObject> & { code: status; details: string; metadata: Metadata } {
  const domainError = asDomainError(error, log);
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
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code: domainError.code, message, details }).finish()));
  return { code: domainError.code, details: message, metadata };
}
