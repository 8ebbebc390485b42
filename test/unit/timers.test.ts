import { MAX_TIMER_DELAY_MS, systemTimers } from "@supervisor/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const DAY = 86_400_000;

describe("systemTimers", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("waits out a 30-day delay in steps, never handing setTimeout more than 2^31-1 ms", () => {
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const timers = systemTimers(() => Date.now());
    let fired = 0;
    timers.after(30 * DAY, () => fired++);
    vi.advanceTimersByTime(30 * DAY - 1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    for (const [, delay] of setTimeoutSpy.mock.calls) expect(delay ?? 0).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    expect(setTimeoutSpy.mock.calls.length).toBeGreaterThan(1); // it took more than one step
  });

  it("treats NaN, negative and infinite delays sanely", () => {
    const timers = systemTimers(() => Date.now());
    const fired: string[] = [];
    timers.after(Number.NaN, () => fired.push("nan"));
    timers.after(-5, () => fired.push("negative"));
    timers.after(Number.POSITIVE_INFINITY, () => fired.push("infinite"));
    vi.advanceTimersByTime(0);
    expect(fired.sort()).toEqual(["nan", "negative"]);
    vi.advanceTimersByTime(1000 * DAY);
    expect(fired).not.toContain("infinite");
  });

  it("cancel stops a timer, even between the steps of a long delay", () => {
    const timers = systemTimers(() => Date.now());
    let fired = 0;
    const timer = timers.after(40 * DAY, () => fired++);
    vi.advanceTimersByTime(25 * DAY);
    timer.cancel();
    vi.advanceTimersByTime(20 * DAY);
    expect(fired).toBe(0);
  });

  it("every() repeats at its interval until cancelled, intervals past 24.8 days included", () => {
    const timers = systemTimers(() => Date.now());
    let ticks = 0;
    const ticker = timers.every(30 * DAY, () => ticks++);
    vi.advanceTimersByTime(90 * DAY);
    expect(ticks).toBe(3);
    ticker.cancel();
    vi.advanceTimersByTime(90 * DAY);
    expect(ticks).toBe(3);
  });
});
