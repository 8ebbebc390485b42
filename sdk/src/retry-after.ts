import { parseDurationMs } from "./duration.js";

/** The longest wait a runner may ask for (RunFinished.retry_after: 1 ms..24 h). */
export const MAX_RETRY_AFTER_MS = 86_400_000;

export interface RetryAfterOptions {
  /**
   * Only this key of the task (one of its rate-limit or concurrency keys, as stored: templates filled) is
   * paused; left out, all of them are.
   */
  key?: string;
  /** Said with the run's end (Run.error and the task's message); default "retry after <delay>". */
  message?: string;
}

/**
 * "The downstream asked to wait" (an HTTP 429 or 503 with Retry-After, a quota): thrown, or returned, by an
 * embedded handler. The run ends not counted as a failure (RunCounts.deferred, not against max_attempts),
 * the task is tried again after `delay`, and every task holding its rate-limit and concurrency keys (or only
 * `options.key`) waits as long, on every runner.
 *
 * ```ts
 * runner.handle("charge", async (payload) => {
 *   const response = await fetch(url, { method: "POST", body: JSON.stringify(payload) });
 *   if (response.status === 429) throw new RetryAfter(Number(response.headers.get("retry-after")) * 1000);
 *   return response.json();
 * });
 * ```
 */
export class RetryAfter extends Error {
  override readonly name = "RetryAfter";
  /** The wait asked for, in whole ms (1 ms..24 h). */
  readonly delayMs: number;
  readonly key: string | undefined;

  /** `delay`: ms, or a duration such as "30s" or "1m30s". */
  constructor(delay: number | string, options: RetryAfterOptions = {}) {
    const delayMs = typeof delay === "string" ? parseDurationMs(delay) : Math.ceil(delay);
    if (!(delayMs >= 1 && delayMs <= MAX_RETRY_AFTER_MS)) {
      throw new RangeError(`RetryAfter: the delay must be 1 ms..24h; got ${String(delay)}`);
    }
    super(options.message ?? `retry after ${delay}${typeof delay === "number" ? " ms" : ""}`);
    this.delayMs = delayMs;
    this.key = options.key;
  }
}

/**
 * A RetryAfter, or an object that looks like one: a handler bundled with its own copy of the SDK throws
 * that copy's class, which `instanceof` here does not recognise.
 */
export function asRetryAfter(value: unknown): RetryAfter | undefined {
  if (value instanceof RetryAfter) return value;
  if (value === null || typeof value !== "object") return undefined;
  const candidate = value as { name?: unknown; delayMs?: unknown; key?: unknown };
  const looksLike =
    candidate.name === "RetryAfter" &&
    typeof candidate.delayMs === "number" &&
    (candidate.key === undefined || typeof candidate.key === "string");
  return looksLike ? (value as RetryAfter) : undefined;
}
