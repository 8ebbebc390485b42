import { status } from "@grpc/grpc-js";
import { jitteredDelayMs, type RetryBackoff, sleep } from "./backoff.js";
import { SupervisorError } from "./errors.js";
import { ErrorReason } from "./reasons.js";

export interface RetryPolicy extends RetryBackoff {
  /** Attempts in all, the first included. 1 = no retry. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2 };

const RETRYABLE_CODES = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.DEADLINE_EXCEEDED]);
/** RESOURCE_EXHAUSTED reasons that will not clear up by retrying in a moment (the caller must act). */
const NOT_TRANSIENT = new Set<string>([
  ErrorReason.SLOT_QUEUE_FULL,
  ErrorReason.WATCH_TOO_SLOW,
  ErrorReason.OUTPUT_TOO_SLOW,
  ErrorReason.TOO_MANY_STREAMS,
]);

/** Only transport-level trouble is retried, and only on calls that are safe to repeat. */
export function isRetryable(error: SupervisorError): boolean {
  return RETRYABLE_CODES.has(error.code) && !NOT_TRANSIENT.has(error.reason);
}

/**
 * How long to wait before retrying after attempt number `attempt` (1-based)
 * failed with `error`: the backoff, or the server's RetryInfo if longer;
 * undefined when the error is final or no attempt is left.
 */
export function retryDelayMs(error: SupervisorError, policy: RetryPolicy, attempt: number): number | undefined {
  if (attempt >= policy.maxAttempts || !isRetryable(error)) return undefined;
  return Math.max(error.retryDelayMs ?? 0, jitteredDelayMs(policy, attempt));
}

/**
 * Runs an idempotent call with capped, jittered backoff between attempts;
 * honours the server's RetryInfo and the caller's AbortSignal. Throws a
 * SupervisorError.
 */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, signal?: AbortSignal): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (thrown) {
      const error = SupervisorError.from(thrown);
      const delayMs = signal?.aborted ? undefined : retryDelayMs(error, policy, n);
      if (delayMs === undefined) throw error;
      await sleep(delayMs, signal);
      if (signal?.aborted) throw error;
    }
  }
}
