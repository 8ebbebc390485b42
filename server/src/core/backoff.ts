/** Retry delays: capped exponential backoff with the AWS jitter modes. Pure: randomness is passed in. */
export type JitterMode = "none" | "full" | "equal" | "decorrelated";

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: JitterMode;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2, jitter: "full" };

/**
 * The delay before the next attempt. `attempt` = the attempt that just
 * ended (1 = the delay after the first attempt). `previousDelayMs` feeds
 * decorrelated jitter. Always a whole number of ms in [0, maxDelayMs].
 */
export function nextDelayMs(policy: BackoffPolicy, attempt: number, previousDelayMs: number | undefined, random: () => number): number {
  const max = Math.max(0, policy.maxDelayMs);
  const initial = Math.min(Math.max(0, policy.initialDelayMs), max);
  // Exponent capped so the power never overflows to Infinity; the cap applies long before.
  const exponent = Math.min(Math.max(0, attempt - 1), 1000);
  const grown = initial * Math.pow(Math.max(1, policy.multiplier), exponent);
  const base = Number.isFinite(grown) ? Math.min(max, grown) : max;
  let delay: number;
  switch (policy.jitter) {
    case "none":
      delay = base;
      break;
    case "full":
      delay = random() * base;
      break;
    case "equal":
      delay = base / 2 + (random() * base) / 2;
      break;
    case "decorrelated": {
      const previous = Math.max(previousDelayMs ?? initial, initial);
      delay = Math.min(max, initial + random() * (previous * 3 - initial));
      break;
    }
  }
  return Math.min(max, Math.max(0, Math.floor(delay)));
}
