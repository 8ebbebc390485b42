import { describe, expect, it } from "vitest";
import { type BackoffPolicy, DEFAULT_BACKOFF, type JitterMode, nextDelayMs } from "../../server/src/core/backoff.js";
import { prng } from "../helpers/prng.js";

const constant = (value: number) => () => value;
const JITTERS: JitterMode[] = ["none", "full", "equal", "decorrelated"];
const RANDOMS: [string, () => () => number][] = [
  ["0", () => constant(0)],
  ["0.5", () => constant(0.5)],
  ["0.999999", () => constant(0.999999)],
  ["seeded", () => prng(42)],
];
const policy = (overrides: Partial<BackoffPolicy> = {}): BackoffPolicy => ({ ...DEFAULT_BACKOFF, ...overrides });
const base = (p: BackoffPolicy, attempt: number) =>
  Math.min(p.maxDelayMs, p.initialDelayMs * p.multiplier ** (attempt - 1));

/** Delays for attempts 1..count, feeding each delay back as the previous one, as a retry loop would. */
function delays(p: BackoffPolicy, count: number, random: () => number): number[] {
  const result: number[] = [];
  let previous: number | undefined;
  for (let attempt = 1; attempt <= count; attempt++) {
    previous = nextDelayMs(p, attempt, previous, random);
    result.push(previous);
  }
  return result;
}

function expectWholeMsWithin(delay: number, low: number, high: number): void {
  expect(Number.isInteger(delay), `${delay} is a whole number`).toBe(true);
  expect(delay).toBeGreaterThanOrEqual(low);
  expect(delay).toBeLessThanOrEqual(high);
}

describe("DEFAULT_BACKOFF", () => {
  it("is full jitter from 1 s, doubling, capped at 30 s", () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2, jitter: "full" });
  });
});

describe("nextDelayMs bounds", () => {
  const policies: BackoffPolicy[] = [
    DEFAULT_BACKOFF,
    policy({ initialDelayMs: 100, maxDelayMs: 10_000, multiplier: 1.5 }),
    policy({ initialDelayMs: 7, maxDelayMs: 7, multiplier: 3 }),
    policy({ initialDelayMs: 250, maxDelayMs: 60_000, multiplier: 1 }),
    policy({ initialDelayMs: 1, maxDelayMs: 86_400_000, multiplier: 100 }),
  ];

  for (const jitter of JITTERS) {
    for (const [name, makeRandom] of RANDOMS) {
      it(`${jitter} jitter with random ${name} stays a whole number of ms in its range`, () => {
        for (const template of policies) {
          const p = { ...template, jitter };
          const random = makeRandom();
          let previous: number | undefined;
          for (let attempt = 1; attempt <= 200; attempt++) {
            const delay = nextDelayMs(p, attempt, previous, random);
            const b = base(p, attempt);
            if (jitter === "none") expect(delay).toBe(Math.floor(b));
            if (jitter === "full") expectWholeMsWithin(delay, 0, b);
            if (jitter === "equal") expectWholeMsWithin(delay, Math.floor(b / 2), b);
            if (jitter === "decorrelated")
              expectWholeMsWithin(
                delay,
                p.initialDelayMs,
                Math.min(p.maxDelayMs, Math.max(previous ?? 0, p.initialDelayMs) * 3),
              );
            expectWholeMsWithin(delay, 0, p.maxDelayMs);
            previous = delay;
          }
        }
      });
    }
  }

  it.each(JITTERS)("%s jitter respects the cap at attempt 1000 and beyond", (jitter) => {
    const p = policy({ jitter });
    for (const attempt of [1000, 1025, 10_000, 2 ** 31, Number.MAX_SAFE_INTEGER, Infinity]) {
      for (const [, makeRandom] of RANDOMS) {
        const delay = nextDelayMs(p, attempt, p.maxDelayMs, makeRandom());
        expectWholeMsWithin(delay, 0, p.maxDelayMs);
      }
    }
    expect(nextDelayMs(policy({ jitter: "none" }), 1000, undefined, prng(7))).toBe(30_000);
  });

  it("never returns NaN or Infinity for a multiplier that overflows", () => {
    for (const jitter of JITTERS) {
      const p = policy({ jitter, multiplier: 1e6, maxDelayMs: 5000 });
      for (const attempt of [1, 2, 60, 1000, 1e9]) {
        expectWholeMsWithin(nextDelayMs(p, attempt, undefined, constant(0.999999)), 0, 5000);
      }
    }
  });

  it("stays in range when random() strays outside [0, 1)", () => {
    for (const jitter of JITTERS) {
      for (const value of [-1, 1, 2, NaN, Infinity, -Infinity]) {
        expectWholeMsWithin(nextDelayMs(policy({ jitter }), 3, 2000, constant(value)), 0, 30_000);
      }
    }
  });

  it("stays in range for degenerate policies", () => {
    const odd: BackoffPolicy[] = [
      policy({ initialDelayMs: 0 }),
      policy({ initialDelayMs: 0, multiplier: Infinity }),
      policy({ maxDelayMs: 0 }),
      policy({ initialDelayMs: 5000, maxDelayMs: 1000 }),
      policy({ multiplier: 0 }),
      policy({ multiplier: NaN }),
      policy({ initialDelayMs: NaN }),
      policy({ maxDelayMs: NaN }),
      policy({ initialDelayMs: -5, maxDelayMs: -1 }),
    ];
    for (const template of odd) {
      for (const jitter of JITTERS) {
        const p = { ...template, jitter };
        const cap = Number.isNaN(p.maxDelayMs) ? 0 : Math.max(0, p.maxDelayMs);
        for (const attempt of [NaN, -3, 0, 1, 2, 50, 1000]) {
          for (const previous of [undefined, NaN, -1, 0, Infinity]) {
            expectWholeMsWithin(nextDelayMs(p, attempt, previous, constant(0.5)), 0, cap);
          }
        }
      }
    }
  });
});

describe("nextDelayMs growth", () => {
  it("without jitter is initial × multiplier^(attempt-1), capped", () => {
    expect(delays(policy({ jitter: "none" }), 8, constant(0.5))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(
      delays(policy({ jitter: "none", initialDelayMs: 100, multiplier: 1.5, maxDelayMs: 1000 }), 7, constant(0)),
    ).toEqual([100, 150, 225, 337, 506, 759, 1000]);
  });

  it("without jitter never shrinks from one attempt to the next", () => {
    for (const multiplier of [1, 1.1, 2, 3, 10]) {
      const series = delays(
        policy({ jitter: "none", initialDelayMs: 10, maxDelayMs: 100_000, multiplier }),
        300,
        prng(multiplier * 1000), // any numbers: without jitter they must not matter
      );
      for (let i = 1; i < series.length; i++) expect(series[i]!).toBeGreaterThanOrEqual(series[i - 1]!);
      expect(series.at(-1)).toBe(multiplier === 1 ? 10 : 100_000);
    }
  });

  it("full jitter spans [0, base): 0 at random 0, half at 0.5, just under base at 0.999999", () => {
    const p = policy({ jitter: "full" });
    expect(nextDelayMs(p, 3, undefined, constant(0))).toBe(0);
    expect(nextDelayMs(p, 3, undefined, constant(0.5))).toBe(2000);
    expect(nextDelayMs(p, 3, undefined, constant(0.999999))).toBe(3999);
    expect(nextDelayMs(p, 100, undefined, constant(0.999999))).toBe(29_999);
  });

  it("equal jitter spans [base/2, base)", () => {
    const p = policy({ jitter: "equal" });
    expect(nextDelayMs(p, 3, undefined, constant(0))).toBe(2000);
    expect(nextDelayMs(p, 3, undefined, constant(0.5))).toBe(3000);
    expect(nextDelayMs(p, 3, undefined, constant(0.999999))).toBe(3999);
    expect(nextDelayMs(p, 100, undefined, constant(0))).toBe(15_000);
  });

  it("decorrelated jitter draws from [initial, 3 × previous), capped, ignoring the attempt number", () => {
    const p = policy({ jitter: "decorrelated" });
    expect(nextDelayMs(p, 1, undefined, constant(0))).toBe(1000);
    expect(nextDelayMs(p, 1, undefined, constant(0.5))).toBe(2000); // 1000 + 0.5 × (3000 − 1000)
    expect(nextDelayMs(p, 7, 4000, constant(0.5))).toBe(6500); // 1000 + 0.5 × (12000 − 1000)
    expect(nextDelayMs(p, 99, 4000, constant(0.5))).toBe(6500);
    expect(nextDelayMs(p, 2, 20_000, constant(0.999999))).toBe(30_000);
    expect(nextDelayMs(p, 2, 10, constant(0.5))).toBe(2000); // a previous below initial counts as initial
  });

  it("seeded full jitter averages about half the base", () => {
    const p = policy({ jitter: "full", maxDelayMs: 1_000_000 });
    const random = prng(7);
    let sum = 0;
    for (let i = 0; i < 2000; i++) sum += nextDelayMs(p, 4, undefined, random);
    expect(sum / 2000).toBeGreaterThan(3500);
    expect(sum / 2000).toBeLessThan(4500);
  });

  it("is deterministic for a given random source", () => {
    for (const jitter of JITTERS) {
      expect(delays(policy({ jitter }), 50, prng(1))).toEqual(delays(policy({ jitter }), 50, prng(1)));
    }
  });
});
