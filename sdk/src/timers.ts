/**
 * setTimeout holds its delay in a signed 32-bit integer: past 2^31 - 1 ms
 * (24.8 days) Node warns and fires after 1 ms instead. A task with not_before
 * a month ahead then made the supervisor spin on a 1 ms timer. Every delay in
 * the SDK and the server goes through `Timers`, which waits for long delays
 * in steps.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A pending call; cancel() is a no-op once it has fired or been cancelled. */
export interface Timer {
  cancel(): void;
}

/** Where delays come from: the system's timers, or a fake clock's in tests. */
export interface Timers {
  /**
   * Calls `fn` once, `delayMs` from now. Any delay works: NaN, negative and
   * zero mean "as soon as possible", delays beyond 24.8 days are waited for in
   * steps. The timer does not keep the process alive.
   */
  after(delayMs: number, fn: () => void): Timer;
  /** Calls `fn` every `intervalMs` until cancelled (the interval is clamped like `after`). */
  every(intervalMs: number, fn: () => void): Timer;
}

/** A usable delay: finite, at least 0. */
export const clampDelay = (delayMs: number): number => (delayMs > 0 ? Math.min(delayMs, Number.MAX_SAFE_INTEGER) : 0);

/** The system's timers, stepping through delays too long for one setTimeout. */
export function systemTimers(now: () => number = Date.now): Timers {
  const after = (delayMs: number, fn: () => void): Timer => {
    const dueAt = now() + clampDelay(delayMs);
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      const remaining = dueAt - now();
      if (remaining > MAX_TIMER_DELAY_MS) {
        handle = setTimeout(arm, MAX_TIMER_DELAY_MS);
      } else {
        handle = setTimeout(
          () => {
            if (!cancelled) fn();
          },
          Math.max(0, remaining),
        );
      }
      handle.unref();
    };
    arm();
    return {
      cancel() {
        cancelled = true;
        clearTimeout(handle);
      },
    };
  };
  const every = (intervalMs: number, fn: () => void): Timer => {
    const step = Math.max(1, clampDelay(intervalMs));
    let current: Timer;
    let cancelled = false;
    const tick = () => {
      if (cancelled) return;
      current = after(step, tick);
      fn();
    };
    current = after(step, tick);
    return {
      cancel() {
        cancelled = true;
        current.cancel();
      },
    };
  };
  return { after, every };
}

/** The process's timers on the wall clock. */
export const SYSTEM_TIMERS: Timers = systemTimers();
