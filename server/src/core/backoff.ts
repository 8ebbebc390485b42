/** Retry delays: capped exponential backoff with the AWS jitter modes. Pure: randomness is passed in. */
export type JitterMode = "none" | "full" | "equal" | "decorrelated";

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: JitterMode;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: "full",
};

// Far beyond the point where any multiplier > 1 has reached the cap; keeps
// Math.pow away from Infinity ** 0 and 1 ** Infinity (both NaN-prone).
const MAX_EXPONENT = 1000;

/** `value` clamped into [low, high]; NaN becomes `low`, so garbage in never becomes NaN out. */
function clamp(value: number, low: number, high: number): number {
  return Number.isNaN(value) ? low : Math.min(high, Math.max(low, value));
}

/**
 * The delay before the next attempt. `attempt` = the attempt that just
 * ended (1 = the delay after the first attempt). `previousDelayMs` feeds
 * decorrelated jitter. Always a whole number of ms in [0, maxDelayMs], even
 * for huge attempt numbers or a `random` that strays outside [0, 1).
 */
export function nextDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  previousDelayMs: number | undefined,
  random: () => number,
): number {
  // An unbounded cap would let the exponential reach Infinity; MAX_SAFE_INTEGER ms is ~285,000 years.
  const max = clamp(policy.maxDelayMs, 0, Number.MAX_SAFE_INTEGER);
  const initial = clamp(policy.initialDelayMs, 0, max);
  const multiplier = clamp(policy.multiplier, 1, Number.MAX_VALUE);
  const exponent = clamp(attempt - 1, 0, MAX_EXPONENT);
  // initial * multiplier ** exponent may overflow to Infinity, which the cap absorbs.
  const base = initial === 0 ? 0 : Math.min(max, initial * multiplier ** exponent);
  const unit = clamp(random(), 0, 1);
  let delay: number;
  switch (policy.jitter) {
    case "none":
      delay = base;
      break;
    case "full":
      delay = unit * base;
      break;
    case "equal":
      delay = base / 2 + (unit * base) / 2;
      break;
    case "decorrelated": {
      // AWS "decorrelated jitter": grows from the previous delay, not the attempt number.
      const previous = clamp(previousDelayMs ?? initial, initial, max);
      delay = Math.min(max, initial + unit * (previous * 3 - initial));
      break;
    }
    default:
      // Unreachable for typed callers; a policy decoded from elsewhere still gets a sane delay.
      delay = base;
  }
  return clamp(Math.floor(delay), 0, max);
}
