import { describe, expect, it } from "vitest";
import { effectiveRate, type Rate, rateLimitsOf, rateOf } from "../../server/src/core/rate-limit.js";
import { KeyGates } from "../../server/src/execution/key-gates.js";

const T = 1_000_000;
const perSecond = (n: number, burst = 1): Rate => rateOf({ perSecond: n, perMinute: 0, burst })!;

describe("rates", () => {
  it("per second or per minute, burst 0 meaning 1; neither unit is no rate", () => {
    expect(rateOf({ perSecond: 20, perMinute: 0, burst: 0 })).toEqual({
      intervalMs: 50,
      toleranceMs: 0,
      label: "20/s, burst 1",
    });
    expect(rateOf({ perSecond: 0, perMinute: 30, burst: 4 })).toEqual({
      intervalMs: 2000,
      toleranceMs: 6000,
      label: "30/min, burst 4",
    });
    expect(rateOf({ perSecond: 0, perMinute: 0, burst: 3 })).toBeUndefined();
  });

  it("the server's rate for a key wins over the task's, whole", () => {
    const limits = rateLimitsOf({ vendor: { perMinute: 60 } });
    expect(effectiveRate({ key: "vendor", perSecond: 1000, perMinute: 0, burst: 50 }, limits)?.label).toBe(
      "60/min, burst 1",
    );
    expect(effectiveRate({ key: "other", perSecond: 5, perMinute: 0, burst: 2 }, limits)?.label).toBe("5/s, burst 2");
    expect(effectiveRate({ key: "other", perSecond: 0, perMinute: 0, burst: 0 }, limits)).toBeUndefined();
  });
});

describe("KeyGates (GCRA)", () => {
  const gate = (rate: Rate) => [{ key: "k", rate }];

  it("a full bucket lets `burst` starts through at once, then one per interval", () => {
    const gates = new KeyGates();
    const rate = perSecond(10, 3);
    let started = 0;
    while (!gates.blocked(gate(rate), T)) {
      gates.take(gate(rate), T);
      started++;
    }
    expect(started).toBe(3);
    expect(gates.blocked(gate(rate), T)).toEqual({ key: "k", kind: "token", untilMs: T + 100 });
    expect(gates.blocked(gate(rate), T + 99)).toBeDefined();
    expect(gates.blocked(gate(rate), T + 100)).toBeUndefined();
  });

  it("a pause holds every task of the key, a concurrency key's too, until it ends; the later pause wins", () => {
    const gates = new KeyGates();
    gates.pause("k", T + 5_000, "run-1");
    gates.pause("k", T + 3_000, "run-2");
    expect(gates.blocked([{ key: "k" }], T)).toEqual({ key: "k", kind: "paused", untilMs: T + 5_000 });
    expect(gates.state("k")?.pausedBy).toBe("run-1");
    expect(gates.blocked([{ key: "k" }], T + 5_000)).toBeUndefined();
    // A rate limit without a rate never has a token.
    expect(gates.blocked([{ key: "none", rate: null }], T)?.kind).toBe("no-rate");
  });

  it("a release takes as many as there are tokens, and says when the next one is due", () => {
    const gates = new KeyGates();
    const rate = perSecond(10, 1);
    gates.take(gate(rate), T); // the bucket's one token is gone until T + 100
    const early = gates.releaser("k", T + 50);
    expect(early.take(gate(rate))).toBe(false);
    expect(early.nextMs()).toBe(T + 100);
    const late = gates.releaser("k", T + 350); // a second late: still one token at most (burst 1)
    expect(late.take(gate(rate))).toBe(true);
    expect(late.take(gate(rate))).toBe(false);
    expect(late.nextMs()).toBe(T + 450);
    // Nothing was taken by the releaser: the tasks let go take their tokens when they start.
    expect(gates.state("k")?.tatMs).toBe(T + 100);
  });

  it("forgets the keys that say nothing any more, but not those in use", () => {
    const gates = new KeyGates();
    gates.take(gate(perSecond(1)), T); // full again at T + 1000
    gates.take([{ key: "busy", rate: perSecond(1) }], T);
    gates.pause("paused", T + 10_000, "run-1");
    expect(gates.forgetIdle(T + 999, () => false)).toBe(0);
    expect(gates.forgetIdle(T + 1_000, (key) => key === "busy")).toBe(1);
    expect(gates.state("k")).toBeUndefined();
    expect(gates.state("busy")).toBeDefined();
    expect(gates.state("paused")).toBeDefined();
  });
});
