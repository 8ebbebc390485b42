import { status as GrpcStatus, Metadata, type ServiceError } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details.js";
import { Status } from "./gen/google/rpc/status.js";

/** The trailer that carries a serialized google.rpc.Status. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

const TYPE_URL_PREFIX = "type.googleapis.com/";
export const ERROR_INFO_TYPE = `${TYPE_URL_PREFIX}google.rpc.ErrorInfo`;
export const BAD_REQUEST_TYPE = `${TYPE_URL_PREFIX}google.rpc.BadRequest`;
export const RETRY_INFO_TYPE = `${TYPE_URL_PREFIX}google.rpc.RetryInfo`;

export interface FieldViolation {
  /** Request path of the bad field, e.g. `spec.timeout`. */
  field: string;
  description: string;
}

/**
 * Every error a supervisor call can fail with, decoded from the gRPC status
 * and its google.rpc.Status details. `reason` is the machine word to branch
 * on (see ErrorReason); `code` is the gRPC status code.
 */
export class SupervisorError extends Error {
  override readonly name = "SupervisorError";

  constructor(
    readonly code: GrpcStatus,
    message: string,
    readonly reason: string,
    readonly metadata: Record<string, string> = {},
    readonly fieldViolations: FieldViolation[] = [],
    readonly retryDelayMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Name of the gRPC code, e.g. "NOT_FOUND". */
  get codeName(): string {
    return GrpcStatus[this.code] ?? String(this.code);
  }

  /**
   * Turns anything a call threw into a SupervisorError. Errors without
   * details (transport failures, other servers) get the gRPC code's name as
   * their reason, so `reason` is always set.
   */
  static from(error: unknown): SupervisorError {
    if (error instanceof SupervisorError) return error;
    if (!isServiceError(error)) {
      const message = error instanceof Error ? error.message : String(error);
      return new SupervisorError(GrpcStatus.UNKNOWN, message, "UNKNOWN", {}, [], undefined, { cause: error });
    }
    const details = decodeStatusDetails(error.metadata);
    return new SupervisorError(
      error.code,
      details?.message || error.details || error.message,
      details?.errorInfo?.reason ?? GrpcStatus[error.code] ?? "UNKNOWN",
      details?.errorInfo?.metadata ?? {},
      details?.fieldViolations ?? [],
      details?.retryDelayMs,
      { cause: error },
    );
  }

  /**
   * The error a google.rpc.Status stands for: the same code, message, reason,
   * metadata and field violations as a call failing with that status in its
   * trailer. What each refused request of a partial-success batch carries.
   */
  static fromStatus(status: Status): SupervisorError {
    const details = statusDetails(status);
    return new SupervisorError(
      status.code,
      details.message,
      details.errorInfo?.reason ?? GrpcStatus[status.code] ?? "UNKNOWN",
      details.errorInfo?.metadata ?? {},
      details.fieldViolations,
      details.retryDelayMs,
    );
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    typeof error === "object" &&
    error !== null &&
    "code" in error &&
    "metadata" in error &&
    (error as { metadata: unknown }).metadata instanceof Metadata
  );
}

export interface DecodedStatusDetails {
  message: string;
  errorInfo?: ErrorInfo;
  fieldViolations: FieldViolation[];
  retryDelayMs?: number;
}

/** Reads google.rpc.Status out of the grpc-status-details-bin trailer, if present and valid. */
export function decodeStatusDetails(metadata: Metadata): DecodedStatusDetails | undefined {
  const raw = metadata.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Buffer)) return undefined;
  let status: Status;
  try {
    status = Status.decode(raw);
  } catch {
    return undefined; // a malformed trailer must not hide the real error
  }
  return statusDetails(status);
}

/**
 * The details of a google.rpc.Status the SDK reads: ErrorInfo, BadRequest,
 * RetryInfo. Others are skipped, and so is one that does not decode.
 */
export function statusDetails(status: Status): DecodedStatusDetails {
  const decoded: DecodedStatusDetails = { message: status.message, fieldViolations: [] };
  for (const detail of status.details) {
    try {
      if (detail.typeUrl === ERROR_INFO_TYPE) decoded.errorInfo = ErrorInfo.decode(detail.value);
      else if (detail.typeUrl === BAD_REQUEST_TYPE) {
        for (const violation of BadRequest.decode(detail.value).fieldViolations) {
          decoded.fieldViolations.push({ field: violation.field, description: violation.description });
        }
      } else if (detail.typeUrl === RETRY_INFO_TYPE) {
        const delay = RetryInfo.decode(detail.value).retryDelay;
        if (delay) decoded.retryDelayMs = delay.seconds * 1000 + Math.floor(delay.nanos / 1e6);
      }
    } catch {
      // a malformed detail must not hide the error itself
    }
  }
  return decoded;
}
