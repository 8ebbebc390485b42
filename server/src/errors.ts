import { Metadata, status, type StatusObject } from "@grpc/grpc-js";
import {
  BAD_REQUEST_TYPE,
  ERROR_DOMAIN,
  ERROR_INFO_TYPE,
  ErrorReason,
  STATUS_DETAILS_KEY,
  type FieldViolation,
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
    "invalid request: " + violations.map((v) => `${v.field}: ${v.description}`).join("; "),
    {},
    violations,
  );

export const taskNotFound = (id: string) =>
  new DomainError(status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND, `task ${id} not found`, { task_id: id });

export const runnerNotFound = (id: string) =>
  new DomainError(status.NOT_FOUND, ErrorReason.RUNNER_NOT_FOUND, `runner ${id} not found`, { runner_id: id });

export const notImplemented = (method: string) =>
  new DomainError(status.UNIMPLEMENTED, ErrorReason.NOT_IMPLEMENTED, `${method} is not implemented yet`, {
    method,
  });

export const shuttingDown = () =>
  new DomainError(status.UNAVAILABLE, ErrorReason.SHUTTING_DOWN, "the supervisor is shutting down");

export type Logger = (message: string, error?: unknown) => void;

/** SQLite errors that mean "the disk, not the request": retryable once space or permissions return. */
const STORE_UNAVAILABLE_CODES = new Set(["SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_CANTOPEN"]);

function asDomainError(error: unknown, log: Logger): DomainError {
  if (error instanceof DomainError) return error;
  const sqliteCode = (error as { code?: unknown } | null)?.code;
  if (typeof sqliteCode === "string" && [...STORE_UNAVAILABLE_CODES].some((c) => sqliteCode.startsWith(c))) {
    log(`store unavailable (${sqliteCode})`, error);
    return new DomainError(status.UNAVAILABLE, ErrorReason.STORE_UNAVAILABLE, "the task store cannot be written now; retry later", {
      sqlite_code: sqliteCode,
    });
  }
  log("internal error", error);
  // Never echo the internal message: it may hold paths or SQL. The log has it.
  return new DomainError(status.INTERNAL, ErrorReason.INTERNAL, "internal error (logged by the server)");
}

/**
 * Maps any thrown value to a grpc-js status with google.rpc.Status details
 * (ErrorInfo always, BadRequest for field violations) in the
 * grpc-status-details-bin trailer.
 */
export function toStatus(error: unknown, log: Logger): Partial<StatusObject> & { code: status; details: string; metadata: Metadata } {
  const domainError = asDomainError(error, log);
  const details = [
    {
      typeUrl: ERROR_INFO_TYPE,
      value: Buffer.from(ErrorInfo.encode({ reason: domainError.reason, domain: ERROR_DOMAIN, metadata: domainError.metadata }).finish()),
    },
  ];
  if (domainError.violations.length > 0) {
    details.push({
      typeUrl: BAD_REQUEST_TYPE,
      value: Buffer.from(
        BadRequest.encode({
          fieldViolations: domainError.violations.map((v) => ({ field: v.field, description: v.description, reason: "" })),
        }).finish(),
      ),
    });
  }
  const metadata = new Metadata();
  metadata.set(
    STATUS_DETAILS_KEY,
    Buffer.from(Status.encode({ code: domainError.code, message: domainError.message, details }).finish()),
  );
  return { code: domainError.code, details: domainError.message, metadata };
}
