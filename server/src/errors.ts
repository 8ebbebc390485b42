import { ErrorReason, type FieldViolation, type TaskPhase, taskPhaseToJSON } from "@supervisor/sdk";

/**
 * The kinds of failure, in transport-neutral terms (connect-es `Code`). Only
 * `services/to-status.ts` maps them to gRPC status codes, and the HTTP API
 * to HTTP statuses; nothing else knows a transport.
 */
export const Code = {
  Canceled: "canceled",
  InvalidArgument: "invalid_argument",
  DeadlineExceeded: "deadline_exceeded",
  NotFound: "not_found",
  AlreadyExists: "already_exists",
  PermissionDenied: "permission_denied",
  ResourceExhausted: "resource_exhausted",
  FailedPrecondition: "failed_precondition",
  Aborted: "aborted",
  OutOfRange: "out_of_range",
  Unimplemented: "unimplemented",
  Internal: "internal",
  Unavailable: "unavailable",
  Unauthenticated: "unauthenticated",
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/**
 * A failure the client should hear about, in domain terms. Core, store and
 * engine code throw these, made by the factories below (the one place that
 * words them); the transport maps them. Services never build statuses.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly code: Code,
    readonly reason: ErrorReason,
    message: string,
    readonly metadata: Record<string, string> = {},
    readonly violations: FieldViolation[] = [],
  ) {
    super(message);
  }
}

export type LogLevel = "error" | "warn" | "info" | "debug";

/**
 * Structured fields of a log line; the names are stable (docs/logging.md). `level` picks the line's level
 * (default: error when an error is given, else info) and is not written as a field.
 */
export interface LogFields {
  level?: LogLevel;
  task_id?: string;
  run_id?: string;
  runner?: string;
  reason?: string;
  [field: string]: unknown;
}

/** The server's log: a message, the error behind it (logged with its stack) and structured fields. */
export type Logger = (message: string, error?: unknown, fields?: LogFields) => void;

// ---- requests ----

export const invalidArgument = (violations: FieldViolation[], reason: ErrorReason = ErrorReason.INVALID_REQUEST) =>
  new DomainError(
    Code.InvalidArgument,
    reason,
    `invalid request: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    {},
    violations,
  );

export const notImplemented = (method: string) =>
  new DomainError(Code.Unimplemented, ErrorReason.NOT_IMPLEMENTED, `${method} is not implemented yet`, { method });

export const shuttingDown = () =>
  new DomainError(Code.Unavailable, ErrorReason.SHUTTING_DOWN, "the supervisor is shutting down");

export const storeUnavailable = (cause: string) =>
  new DomainError(
    Code.Unavailable,
    ErrorReason.STORE_UNAVAILABLE,
    "the task store cannot be written now; retry later",
    {
      cause,
    },
  );

export const notLeader = (epoch: number) =>
  new DomainError(
    Code.Unavailable,
    ErrorReason.NOT_LEADER,
    `this server no longer leads (the leader lease of epoch ${epoch} is not its own now); retry`,
    { epoch: String(epoch) },
  );

export const internal = () =>
  // Never the internal message: it may hold paths or SQL. The log has it.
  new DomainError(Code.Internal, ErrorReason.INTERNAL, "internal error (logged by the server)");

// ---- schedules ----

export const scheduleNotFound = (id: string) =>
  new DomainError(Code.NotFound, ErrorReason.SCHEDULE_NOT_FOUND, `schedule ${id} not found`, { schedule_id: id });

export const scheduleExists = (id: string) =>
  new DomainError(Code.AlreadyExists, ErrorReason.SCHEDULE_EXISTS, `a schedule with id ${id} exists already`, {
    schedule_id: id,
  });

// ---- dispatch pauses ----

export const dispatchPauseNotFound = (id: string) =>
  new DomainError(Code.NotFound, ErrorReason.DISPATCH_PAUSE_NOT_FOUND, `dispatch pause ${id} not found`, {
    pause_id: id,
  });

export const dispatchPauseExists = (id: string) =>
  new DomainError(
    Code.AlreadyExists,
    ErrorReason.DISPATCH_PAUSE_EXISTS,
    `a dispatch pause with id ${id} exists already`,
    {
      pause_id: id,
    },
  );

export const dispatchPausesFull = (limit: number) =>
  new DomainError(
    Code.ResourceExhausted,
    ErrorReason.DISPATCH_PAUSES_FULL,
    `at most ${limit} dispatch pauses: resume one before pausing more`,
    { limit: String(limit) },
  );

// ---- tasks ----

export const taskNotFound = (id: string) =>
  new DomainError(Code.NotFound, ErrorReason.TASK_NOT_FOUND, `task ${id} not found`, { task_id: id });

export const taskTerminal = (taskId: string, phase: TaskPhase) =>
  new DomainError(
    Code.FailedPrecondition,
    ErrorReason.TASK_TERMINAL,
    `task ${taskId} already ended (${taskPhaseToJSON(phase)})`,
    {
      task_id: taskId,
      phase: taskPhaseToJSON(phase),
    },
  );

/** RerunTask copies the spec of a task that has ended: one still pending or running has no outcome to redo. */
export const taskActive = (taskId: string, phase: TaskPhase) =>
  new DomainError(
    Code.FailedPrecondition,
    ErrorReason.TASK_ACTIVE,
    `task ${taskId} has not ended (${taskPhaseToJSON(phase)}): rerun it once it has`,
    { task_id: taskId, phase: taskPhaseToJSON(phase) },
  );

export const slotBusy = (slot: string, ownerTaskId: string) =>
  new DomainError(Code.FailedPrecondition, ErrorReason.SLOT_BUSY, `slot ${slot} is busy with task ${ownerTaskId}`, {
    slot,
    owner_task_id: ownerTaskId,
  });

export const slotQueueFull = (slot: string, limit: number) =>
  new DomainError(
    Code.ResourceExhausted,
    ErrorReason.SLOT_QUEUE_FULL,
    `the queue of slot ${slot} is full (${limit} tasks)`,
    {
      slot,
      limit: String(limit),
    },
  );

export const requestIdReused = (requestId: string, taskId: string) =>
  new DomainError(
    Code.AlreadyExists,
    ErrorReason.REQUEST_ID_REUSED,
    `request_id ${requestId} was already used for task ${taskId} with a different spec`,
    { request_id: requestId, task_id: taskId },
  );

export const signatureInvalid = (field: string, problem: string, keyId: string) =>
  new DomainError(Code.PermissionDenied, ErrorReason.SIGNATURE_INVALID, `${field}.signature: ${problem}`, {
    key_id: keyId,
  });

// ---- streams ----

export const revisionCompacted = (since: number, oldest: number) =>
  new DomainError(
    Code.OutOfRange,
    ErrorReason.REVISION_COMPACTED,
    `revision ${since} is older than the journal keeps (oldest ${oldest}); ` +
      "list again and watch from the list's revision",
    { oldest_revision: String(oldest), since_revision: String(since) },
  );

export const watchTooSlow = (maxLag: number, lastRevision: number) =>
  new DomainError(
    Code.ResourceExhausted,
    ErrorReason.WATCH_TOO_SLOW,
    `the watcher fell more than ${maxLag} events behind; resume from revision ${lastRevision}`,
    { last_revision: String(lastRevision) },
  );

export const outputNotFound = (taskId: string, attempt: number) =>
  new DomainError(
    Code.NotFound,
    ErrorReason.OUTPUT_NOT_FOUND,
    `task ${taskId} has no output${attempt ? ` for attempt ${attempt}` : ""}`,
    { task_id: taskId, attempt: String(attempt) },
  );

export const outputTooSlow = (lastSeq: number) =>
  new DomainError(
    Code.ResourceExhausted,
    ErrorReason.OUTPUT_TOO_SLOW,
    `the follower fell behind; resume with since_seq ${lastSeq}`,
    {
      last_seq: String(lastSeq),
    },
  );

export const tooManyStreams = (name: string, count: number, what: string, limit: number) =>
  new DomainError(
    Code.ResourceExhausted,
    ErrorReason.TOO_MANY_STREAMS,
    `${name} already has ${count} open ${what} (limit ${limit})`,
    {
      limit: String(limit),
    },
  );

// ---- auth ----

export const tokenMissing = () =>
  new DomainError(
    Code.Unauthenticated,
    ErrorReason.TOKEN_MISSING,
    "a bearer token is required (authorization: Bearer <token>)",
  );

export const tokenInvalid = () =>
  new DomainError(Code.Unauthenticated, ErrorReason.TOKEN_INVALID, "the bearer token is not valid");

export const roleForbidden = (role: string, method: string) =>
  new DomainError(Code.PermissionDenied, ErrorReason.ROLE_FORBIDDEN, `role ${role} may not call ${method}`, {
    role,
    method,
  });

// ---- runners ----

export const runnerNotFound = (id: string) =>
  new DomainError(Code.NotFound, ErrorReason.RUNNER_NOT_FOUND, `runner ${id} not found`, { runner_id: id });

export const runnerConnected = (id: string, name: string) =>
  new DomainError(
    Code.FailedPrecondition,
    ErrorReason.RUNNER_CONNECTED,
    `runner ${name} (${id}) is connected: only a disconnected runner can be forgotten; stop it first, ` +
      "then wait until it shows DISCONNECTED",
    { runner_id: id, runner_name: name },
  );

export const runnerNameInUse = (name: string, peer: string | undefined) =>
  new DomainError(
    Code.AlreadyExists,
    ErrorReason.RUNNER_NAME_IN_USE,
    `runner name ${name} is in use by a live runner${peer ? ` connected from ${peer}` : ""}; ` +
      "give this runner another name",
    { runner_name: name },
  );

export const runnerNameForbidden = (token: string, name: string, allowed: readonly string[]) =>
  new DomainError(
    Code.PermissionDenied,
    ErrorReason.RUNNER_NAME_FORBIDDEN,
    `token ${token} may not connect a runner named ${name} (allowed: ${allowed.join(", ")})`,
    { runner_name: name },
  );

export const protocolViolation = (message: string) =>
  new DomainError(Code.FailedPrecondition, ErrorReason.RUNNER_PROTOCOL_VIOLATION, message);

export const runnerReplaced = (message: string) => new DomainError(Code.Aborted, ErrorReason.RUNNER_REPLACED, message);

export const runnerReconnected = (message: string) =>
  new DomainError(Code.Unavailable, ErrorReason.RUNNER_RECONNECTED, message);

export const leaseExpired = (message: string) => new DomainError(Code.Unavailable, ErrorReason.LEASE_EXPIRED, message);

// ---- HTTP API (server/src/http) ----

export const routeNotFound = (method: string, path: string) =>
  new DomainError(
    Code.NotFound,
    ErrorReason.ROUTE_NOT_FOUND,
    `no HTTP route for ${method} ${path} (the routes: docs/http-api.md)`,
    { path },
  );

export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]) =>
  new DomainError(
    Code.Unimplemented,
    ErrorReason.METHOD_NOT_ALLOWED,
    `${path} does not take ${method}; it takes ${allowed.join(", ")}`,
    { allow: allowed.join(", ") },
  );

export const requestTooLarge = (limitBytes: number) =>
  new DomainError(
    Code.ResourceExhausted,
    ErrorReason.REQUEST_TOO_LARGE,
    `the request body is over ${limitBytes} bytes (the gRPC message limit): split it`,
    { limit_bytes: String(limitBytes) },
  );

export const unsupportedMediaType = (contentType: string) =>
  new DomainError(
    Code.InvalidArgument,
    ErrorReason.UNSUPPORTED_MEDIA_TYPE,
    `a request body must be JSON (content-type: application/json), not ${contentType}`,
    { content_type: contentType },
    [{ field: "(content-type)", description: `${contentType}: not application/json` }],
  );

export const originForbidden = (what: "origin" | "host", value: string) =>
  new DomainError(
    Code.PermissionDenied,
    ErrorReason.ORIGIN_FORBIDDEN,
    what === "origin"
      ? `requests from web pages of another origin (${value}) are refused`
      : `with authentication off, only loopback hosts are served, not ${value} (configure tokens to serve others)`,
    { [what]: value },
  );
