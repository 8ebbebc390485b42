/** Capped exponential backoff with full jitter, for client retries and runner reconnects. */
export interface RetryBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

export const DEFAULT_RECONNECT_BACKOFF: RetryBackoff = { initialDelayMs: 250, maxDelayMs: 10_000, multiplier: 2 };

/** Delay before retry number `attempt` (1-based): uniform in [0, min(max, initial × multiplier^(attempt-1))]. */
export function jitteredDelayMs(policy: RetryBackoff, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.min(attempt - 1, 60));
  return Math.floor(random() * base);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
