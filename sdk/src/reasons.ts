/**
 * The closed list of machine-readable reasons. `ErrorReason` values appear in
 * google.rpc.ErrorInfo.reason of every error the supervisor returns;
 * `TaskReason` values appear in TaskStatus.reason. The server imports this very
 * file, so the SDK and the server can never disagree.
 */
export const ErrorReason = {
  /** INVALID_ARGUMENT: see the BadRequest field violations. */
  INVALID_REQUEST: "INVALID_REQUEST",
  /** INVALID_ARGUMENT: page_token is malformed or was issued for another filter. */
  PAGE_TOKEN_INVALID: "PAGE_TOKEN_INVALID",
  /** INVALID_ARGUMENT: a label selector string does not parse. */
  LABEL_SELECTOR_INVALID: "LABEL_SELECTOR_INVALID",
  /** NOT_FOUND */
  TASK_NOT_FOUND: "TASK_NOT_FOUND",
  /** NOT_FOUND */
  RUNNER_NOT_FOUND: "RUNNER_NOT_FOUND",
  /** NOT_FOUND: no schedule with this id. Metadata: schedule_id. */
  SCHEDULE_NOT_FOUND: "SCHEDULE_NOT_FOUND",
  /** ALREADY_EXISTS: CreateSchedule with an id that is taken. Metadata: schedule_id. */
  SCHEDULE_EXISTS: "SCHEDULE_EXISTS",
  /** NOT_FOUND: ResumeDispatch of a pause that does not exist. Metadata: pause_id. */
  DISPATCH_PAUSE_NOT_FOUND: "DISPATCH_PAUSE_NOT_FOUND",
  /** ALREADY_EXISTS: PauseDispatch with an id that is taken. Metadata: pause_id. */
  DISPATCH_PAUSE_EXISTS: "DISPATCH_PAUSE_EXISTS",
  /** RESOURCE_EXHAUSTED: PauseDispatch beyond the bound of stored pauses. Metadata: limit. */
  DISPATCH_PAUSES_FULL: "DISPATCH_PAUSES_FULL",
  /** NOT_FOUND: the task/attempt has no stored output. */
  OUTPUT_NOT_FOUND: "OUTPUT_NOT_FOUND",
  /** ALREADY_EXISTS: the request_id was used with another spec. Metadata: task_id. */
  REQUEST_ID_REUSED: "REQUEST_ID_REUSED",
  /** FAILED_PRECONDITION: the slot has an active task. Metadata: owner_task_id. */
  SLOT_BUSY: "SLOT_BUSY",
  /** RESOURCE_EXHAUSTED: the slot's queue is at its bound. Metadata: slot, limit. */
  SLOT_QUEUE_FULL: "SLOT_QUEUE_FULL",
  /** FAILED_PRECONDITION: the task already ended (other than CANCELED). Metadata: phase. */
  TASK_TERMINAL: "TASK_TERMINAL",
  /** FAILED_PRECONDITION: RerunTask of a task that has not ended (pending or running). Metadata: task_id, phase. */
  TASK_ACTIVE: "TASK_ACTIVE",
  /** OUT_OF_RANGE: since_revision is older than the journal keeps. Metadata: oldest_revision. */
  REVISION_COMPACTED: "REVISION_COMPACTED",
  /** RESOURCE_EXHAUSTED: a watcher fell too far behind; resume from its last revision. */
  WATCH_TOO_SLOW: "WATCH_TOO_SLOW",
  /** RESOURCE_EXHAUSTED: an output follower fell too far behind; resume with since_seq. */
  OUTPUT_TOO_SLOW: "OUTPUT_TOO_SLOW",
  /** RESOURCE_EXHAUSTED: too many open streams for one client. */
  TOO_MANY_STREAMS: "TOO_MANY_STREAMS",
  /** FAILED_PRECONDITION: DeleteRunner of a runner that is connected (or within its lease). Metadata: runner_id. */
  RUNNER_CONNECTED: "RUNNER_CONNECTED",
  /** FAILED_PRECONDITION: a runner broke the Connect protocol (e.g. no hello first). */
  RUNNER_PROTOCOL_VIOLATION: "RUNNER_PROTOCOL_VIOLATION",
  /** ABORTED: a newer connection with the same runner name took over; do not reconnect. */
  RUNNER_REPLACED: "RUNNER_REPLACED",
  /** ALREADY_EXISTS: a live runner already has this name; pick another name. Metadata: runner_name. */
  RUNNER_NAME_IN_USE: "RUNNER_NAME_IN_USE",
  /** PERMISSION_DENIED: the token may not connect a runner with this name. Metadata: runner_name. */
  RUNNER_NAME_FORBIDDEN: "RUNNER_NAME_FORBIDDEN",
  /** UNAVAILABLE: the same runner process reconnected; this older stream of it is closed. */
  RUNNER_RECONNECTED: "RUNNER_RECONNECTED",
  /** UNAVAILABLE: the runner's lease ran out (no heartbeat in time); reconnect, its runs were lost. */
  LEASE_EXPIRED: "LEASE_EXPIRED",
  /** UNAUTHENTICATED: no bearer token. */
  TOKEN_MISSING: "TOKEN_MISSING",
  /** UNAUTHENTICATED: the bearer token is not known. */
  TOKEN_INVALID: "TOKEN_INVALID",
  /** PERMISSION_DENIED: the token's role may not call this method. */
  ROLE_FORBIDDEN: "ROLE_FORBIDDEN",
  /** PERMISSION_DENIED: a required spec signature is missing or wrong. */
  SIGNATURE_INVALID: "SIGNATURE_INVALID",
  /** UNIMPLEMENTED: the method exists in the contract but is not served yet. */
  NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
  /** UNAVAILABLE: the server is shutting down; retry elsewhere or later. */
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** UNAVAILABLE: the database cannot be written (disk full, read-only); retry later. */
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
  /**
   * UNAVAILABLE: a write that only the leader of servers sharing a database may make came from a
   * server that no longer leads (its lease lapsed or another server took it); retry, the new leader
   * makes it. Metadata: epoch (the term the write was made in).
   */
  NOT_LEADER: "NOT_LEADER",
  /** NOT_FOUND (HTTP 404): no route of the HTTP API has this path. Metadata: path. */
  ROUTE_NOT_FOUND: "ROUTE_NOT_FOUND",
  /** UNIMPLEMENTED (HTTP 405): the path has routes, but not for this HTTP method. Metadata: allow. */
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  /** RESOURCE_EXHAUSTED (HTTP 413): the HTTP request body is over the limit. Metadata: limit_bytes. */
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
  /** INVALID_ARGUMENT (HTTP 415): an HTTP request body that is not declared application/json. */
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  /**
   * PERMISSION_DENIED (HTTP 403): an HTTP request from a web page of another origin (its Origin header), or,
   * with authentication off, for a Host that is not this machine's loopback (DNS rebinding). Metadata: origin / host.
   */
  ORIGIN_FORBIDDEN: "ORIGIN_FORBIDDEN",
  /** INTERNAL: a bug. The message says no more than that; the server logs the cause. */
  INTERNAL: "INTERNAL",
} as const;
export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

/** Values of TaskStatus.reason: why a task is in its phase. */
export const TaskReason = {
  /** PENDING: no connected runner matches its selector and has its kind. */
  NO_MATCHING_RUNNER: "NO_MATCHING_RUNNER",
  /** PENDING: runners match, but every one of them is at capacity (or draining). */
  RUNNERS_BUSY: "RUNNERS_BUSY",
  /** PENDING: queued behind the slot's owner (admission QUEUE). */
  SLOT_QUEUED: "SLOT_QUEUED",
  /** PENDING: one of its concurrency keys is at its limit; the message names the key and its count. */
  CONCURRENCY_LIMITED: "CONCURRENCY_LIMITED",
  /** PENDING: a dispatch pause (DispatchService) matches it; the message names the pause. */
  DISPATCH_PAUSED: "DISPATCH_PAUSED",
  /**
   * PENDING: one of its rate-limit keys has no token yet, or one of its keys is paused by another run's
   * retry-after; the message names the key, the rate (or the run that asked) and until when.
   */
  RATE_LIMITED: "RATE_LIMITED",
  /** PENDING: its last run ended with a retry-after (the downstream asked to wait) until next_attempt_time. */
  RETRY_AFTER: "RETRY_AFTER",
  /** PENDING: waiting for spec.not_before. */
  NOT_BEFORE: "NOT_BEFORE",
  /** PENDING: waiting out the backoff before the next attempt. */
  BACKOFF: "BACKOFF",
  /** RUNNING: assigned to a runner, not yet started. */
  ASSIGNED: "ASSIGNED",
  /** RUNNING: the runner reported the start. */
  STARTED: "STARTED",
  /** Terminal: the last attempt succeeded. */
  SUCCEEDED: "SUCCEEDED",
  /** Terminal or PENDING (retry): the attempt exited non-zero or failed to start. */
  ATTEMPT_FAILED: "ATTEMPT_FAILED",
  /** Terminal or PENDING (retry): an init step (TaskSpec.init) failed; the message names it. */
  INIT_FAILED: "INIT_FAILED",
  /** Terminal or PENDING (retry): the attempt hit its timeout. */
  ATTEMPT_TIMEOUT: "ATTEMPT_TIMEOUT",
  /** Terminal or PENDING (retry): the runner went away during the attempt. */
  RUNNER_LOST: "RUNNER_LOST",
  /** Terminal: max_attempts reached. */
  ATTEMPTS_EXHAUSTED: "ATTEMPTS_EXHAUSTED",
  /** CANCELED: by CancelTask. */
  CANCELED_BY_CLIENT: "CANCELED_BY_CLIENT",
  /** CANCELED: replaced by a newer task of the same slot (admission REPLACE). */
  REPLACED: "REPLACED",
  /** RUNNING: a fan-out parent whose children run (or whose fan_out_window is still open). */
  FANNED_OUT: "FANNED_OUT",
  /** FAILED: a fan-out parent more of whose children failed than max_failed allows. */
  CHILDREN_FAILED: "CHILDREN_FAILED",
  /** CANCELED: a fan-out child whose parent was canceled. */
  PARENT_CANCELED: "PARENT_CANCELED",
} as const;
export type TaskReason = (typeof TaskReason)[keyof typeof TaskReason];

/** ErrorInfo.domain of every supervisor error. */
export const ERROR_DOMAIN = "supervisor.v1";
