import { status } from "@grpc/grpc-js";
import { ErrorReason } from "@supervisor/sdk";

/** The HTTP status of each gRPC code: grpc-gateway's runtime.HTTPStatusFromCode, Envoy's too. */
const HTTP_STATUS: Record<number, number> = {
  [status.OK]: 200,
  [status.CANCELLED]: 499,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAUTHENTICATED]: 401,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 400,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
};

/**
 * Failures of the HTTP layer itself whose code has a more precise HTTP status than the code's own
 * (grpc-gateway answers 405 for a wrong method with UNIMPLEMENTED too; a body past the limit is no
 * "retry later" 429).
 */
const BY_REASON: Partial<Record<string, number>> = {
  [ErrorReason.METHOD_NOT_ALLOWED]: 405,
  [ErrorReason.REQUEST_TOO_LARGE]: 413,
  [ErrorReason.UNSUPPORTED_MEDIA_TYPE]: 415,
};

export function httpStatusOf(code: number, reason?: string): number {
  return (reason ? BY_REASON[reason] : undefined) ?? HTTP_STATUS[code] ?? 500;
}
