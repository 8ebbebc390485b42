import {
  formatDurationMs as formatMs,
  Jitter,
  RestartPolicy,
  type RunCounts,
  RunPhase,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskStatus,
} from "@supervisor/sdk";
import { type BackoffPolicy, type JitterMode, nextDelayMs } from "./backoff.js";
import { durationToMs, msToDuration } from "./task-spec.js";

/** How an attempt ended, from the supervisor's point of view. */
export interface AttemptEnd {
  phase:
    | RunPhase.RUN_PHASE_SUCCEEDED
    | RunPhase.RUN_PHASE_FAILED
    | RunPhase.RUN_PHASE_TIMEOUT
    | RunPhase.RUN_PHASE_CANCELED
    | RunPhase.RUN_PHASE_LOST;
  exitCode?: number;
  error?: string;
  /** The init step (1-based) that ended the attempt, if one did. */
  failedInitStep?: number;
  /**
   * The downstream asked to wait this long (RunFinished.retry_after, validated): a FAILED attempt so ended is
   * deferred — counted in RunCounts.deferred, not as a failure nor against max_attempts — and tried again then.
   */
  retryAfterMs?: number;
}

const JITTER_MODES: Record<number, JitterMode> = {
  [Jitter.JITTER_NONE]: "none",
  [Jitter.JITTER_FULL]: "full",
  [Jitter.JITTER_EQUAL]: "equal",
  [Jitter.JITTER_DECORRELATED]: "decorrelated",
};

export function backoffPolicyOf(task: Task): BackoffPolicy {
  const backoff = task.spec!.backoff!;
  return {
    initialDelayMs: durationToMs(backoff.initialDelay!),
    maxDelayMs: durationToMs(backoff.maxDelay!),
    multiplier: backoff.multiplier,
    jitter: JITTER_MODES[backoff.jitter] ?? "full",
  };
}

const FAILURE_REASON: Partial<Record<RunPhase, TaskReason>> = {
  [RunPhase.RUN_PHASE_FAILED]: TaskReason.ATTEMPT_FAILED,
  [RunPhase.RUN_PHASE_TIMEOUT]: TaskReason.ATTEMPT_TIMEOUT,
  [RunPhase.RUN_PHASE_LOST]: TaskReason.RUNNER_LOST,
};

/** Why the attempt ended, in the reason's words: a failed init step has its own. */
function failureReason(end: AttemptEnd): TaskReason | undefined {
  if (end.phase === RunPhase.RUN_PHASE_FAILED && end.failedInitStep) return TaskReason.INIT_FAILED;
  return FAILURE_REASON[end.phase];
}

/** The attempts that count against max_attempts (and grow the backoff): all but the deferred ones. */
export const countedAttempts = (status: TaskStatus): number => status.attempt - (status.runCounts?.deferred ?? 0);

function describe(end: AttemptEnd, attempt: number): string {
  if (isDeferred(end)) {
    const why = end.error ? `: ${end.error}` : "";
    return `attempt ${attempt} deferred: the downstream asked to retry after ${formatMs(end.retryAfterMs!)}${why}`;
  }
  // The runner SDK's error names the step already ("init step 2 (…) exited with code 1"); another runner's may not.
  const step = end.phase === RunPhase.RUN_PHASE_FAILED ? end.failedInitStep : undefined;
  const what = step
    ? end.error?.startsWith(`init step ${step} `)
      ? "failed"
      : `failed in init step ${step}`
    : end.phase === RunPhase.RUN_PHASE_SUCCEEDED
      ? "succeeded"
      : end.phase === RunPhase.RUN_PHASE_TIMEOUT
        ? "timed out"
        : end.phase === RunPhase.RUN_PHASE_LOST
          ? "was lost with its runner"
          : end.phase === RunPhase.RUN_PHASE_CANCELED
            ? "was canceled"
            : end.exitCode !== undefined
              ? `exited with code ${end.exitCode}`
              : "failed";
  return `attempt ${attempt} ${what}${end.error ? `: ${end.error}` : ""}`;
}

export interface AttemptOptions {
  /** Returns [0, 1): the jitter's randomness. */
  random: () => number;
  /** The shortest delay before a restart. */
  minDelayMs?: number;
}

const EMPTY_COUNTS: RunCounts = { succeeded: 0, failed: 0, timeout: 0, canceled: 0, lost: 0, deferred: 0 };

/** Whether an attempt that ended so is deferred (a retry-after), not a failure. */
export const isDeferred = (end: AttemptEnd): boolean =>
  end.phase === RunPhase.RUN_PHASE_FAILED && end.retryAfterMs !== undefined;

/** `counts` with one more ended run of `phase` (a deferred one counts as deferred, whatever its phase). */
export function countedRun(counts: RunCounts | undefined, phase: AttemptEnd["phase"], deferred = false): RunCounts {
  const next = { ...EMPTY_COUNTS, ...counts };
  if (deferred) next.deferred++;
  else if (phase === RunPhase.RUN_PHASE_SUCCEEDED) next.succeeded++;
  else if (phase === RunPhase.RUN_PHASE_FAILED) next.failed++;
  else if (phase === RunPhase.RUN_PHASE_TIMEOUT) next.timeout++;
  else if (phase === RunPhase.RUN_PHASE_CANCELED) next.canceled++;
  else next.lost++;
  return next;
}

/**
 * The task after one of its attempts ended: retried later (PENDING with
 * next_attempt_time), or terminal. NEVER ends after one attempt (FAILED or
 * TIMEOUT); ON_FAILURE retries failures, timeouts and lost runners up to
 * max_attempts, then EXHAUSTED; ALWAYS also restarts after success, until
 * max_attempts (0 = unlimited). A cancel requested while it ran wins.
 * A restart waits at least `minDelayMs`, whatever the backoff says, so a
 * command that exits at once cannot spin (and grow the run history) hundreds
 * of times a second. A deferred attempt (a retry-after) is tried again after
 * the time asked, whatever the policy (NEVER too), and is not counted against
 * max_attempts, nor in the backoff.
 */
export function afterAttempt(
  task: Task,
  end: AttemptEnd,
  nowMs: number,
  options: AttemptOptions,
): { task: Task; delayMs?: number } {
  const status = task.status!;
  const spec = task.spec!;
  const now = new Date(nowMs);
  const message = describe(end, status.attempt);
  const deferred = isDeferred(end);
  const base: TaskStatus = {
    ...status,
    exitCode: end.exitCode,
    message,
    nextAttemptTime: undefined,
    runCounts: countedRun(status.runCounts, end.phase, deferred),
  };
  const terminal = (phase: TaskPhase, reason: string): { task: Task } => ({
    task: {
      ...task,
      status: { ...base, phase, reason, finishTime: now, cancelRequested: status.cancelRequested },
      updateTime: now,
    },
  });

  if (status.cancelRequested && end.phase !== RunPhase.RUN_PHASE_SUCCEEDED) {
    // The reason the canceller gave stays first in the message; the attempt's end follows it.
    const ended = terminal(TaskPhase.TASK_PHASE_CANCELED, status.reason || TaskReason.CANCELED_BY_CLIENT);
    const why = status.message || "canceled";
    return { task: { ...ended.task, status: { ...ended.task.status!, message: `${why}; ${message}` } } };
  }
  if (end.phase === RunPhase.RUN_PHASE_CANCELED)
    return terminal(TaskPhase.TASK_PHASE_CANCELED, TaskReason.CANCELED_BY_CLIENT);
  if (deferred) {
    // Not a failure: the backoff neither grows nor starts over (lastBackoff is kept), and no minimum delay applies.
    const delayMs = end.retryAfterMs!;
    const pending: TaskStatus = {
      ...base,
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.RETRY_AFTER,
      nextAttemptTime: new Date(nowMs + delayMs),
    };
    return { task: { ...task, status: pending, updateTime: now }, delayMs };
  }

  const succeeded = end.phase === RunPhase.RUN_PHASE_SUCCEEDED;
  const restarts =
    !status.cancelRequested &&
    (spec.restart === RestartPolicy.RESTART_POLICY_ALWAYS ||
      (spec.restart === RestartPolicy.RESTART_POLICY_ON_FAILURE && !succeeded));
  const counted = countedAttempts(status);
  const attemptsLeft = spec.maxAttempts === 0 || counted < spec.maxAttempts;

  if (restarts && attemptsLeft) {
    // A service restarted after success starts its backoff over; failures grow it.
    const backoffMs = nextDelayMs(
      backoffPolicyOf(task),
      succeeded ? 1 : counted,
      status.lastBackoff ? durationToMs(status.lastBackoff) : undefined,
      options.random,
    );
    const delayMs = Math.max(options.minDelayMs ?? 0, backoffMs);
    const reason = succeeded ? TaskReason.BACKOFF : failureReason(end)!;
    return {
      task: {
        ...task,
        status: {
          ...base,
          phase: TaskPhase.TASK_PHASE_PENDING,
          reason,
          runnerId: status.runnerId,
          nextAttemptTime: new Date(nowMs + delayMs),
          lastBackoff: msToDuration(delayMs),
        },
        updateTime: now,
      },
      delayMs,
    };
  }
  if (succeeded) return terminal(TaskPhase.TASK_PHASE_SUCCEEDED, TaskReason.SUCCEEDED);
  if (restarts) return terminal(TaskPhase.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED);
  if (end.phase === RunPhase.RUN_PHASE_TIMEOUT)
    return terminal(TaskPhase.TASK_PHASE_TIMEOUT, TaskReason.ATTEMPT_TIMEOUT);
  return terminal(TaskPhase.TASK_PHASE_FAILED, failureReason(end) ?? TaskReason.ATTEMPT_FAILED);
}
