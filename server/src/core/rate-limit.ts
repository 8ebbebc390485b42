import type { RateLimit } from "@supervisor/sdk";

/*
 * Token buckets as GCRA (the generic cell rate algorithm): a key's whole state is one "theoretical arrival
 * time" (TAT), the time its bucket will be full again. A start at `now` conforms while TAT - tolerance <= now,
 * and moves TAT to max(TAT, now) + interval. One number per key, so the store keeps it exactly (rate_keys).
 */

export const MAX_RATE_LIMITS = 8;
export const MAX_PER_SECOND = 100_000;
export const MAX_PER_MINUTE = 6_000_000;
export const MAX_BURST = 100_000;

/** A key's rate as a task (or the server's config) gives it, before it becomes a Rate. */
export interface RateSetting {
  perSecond: number;
  perMinute: number;
  /** 0 = 1. */
  burst: number;
}

/** A rate in the terms GCRA works with. */
export interface Rate {
  /** Milliseconds between tokens (1000 / per_second, or 60 000 / per_minute). */
  intervalMs: number;
  /** How far ahead of now a key's TAT may be and still let a start through: (burst - 1) × interval. */
  toleranceMs: number;
  /** "20/s, burst 5": for messages. */
  label: string;
}

/** Server-side rates by key (config rateLimits); they win over the tasks' own. */
export type RateLimits = ReadonlyMap<string, RateSetting>;

export const rateLimitsOf = (config: Readonly<Record<string, Partial<RateSetting>>>): RateLimits =>
  new Map(
    Object.entries(config).map(([key, rate]) => [
      key,
      { perSecond: rate.perSecond ?? 0, perMinute: rate.perMinute ?? 0, burst: rate.burst ?? 0 },
    ]),
  );

/** The rate of a setting, or undefined when it names none (neither per_second nor per_minute). */
export function rateOf(setting: RateSetting): Rate | undefined {
  const burst = Math.max(1, setting.burst);
  const [intervalMs, unit] =
    setting.perSecond > 0
      ? [1000 / setting.perSecond, `${setting.perSecond}/s`]
      : setting.perMinute > 0
        ? [60_000 / setting.perMinute, `${setting.perMinute}/min`]
        : [undefined, ""];
  if (intervalMs === undefined) return undefined;
  return { intervalMs, toleranceMs: (burst - 1) * intervalMs, label: `${unit}, burst ${burst}` };
}

/**
 * The rate a task's key holds it to: the server's for the key when configured (it wins), else the task's
 * own; undefined when neither names one (a task relying on a server rate since removed from the config):
 * nothing of that task starts, and its waiting message says why.
 */
export const effectiveRate = (limit: RateLimit, limits: RateLimits): Rate | undefined =>
  rateOf(limits.get(limit.key) ?? limit);

/** Whether a start at `nowMs` conforms to `rate` on a key whose TAT is `tatMs`. */
export const conforms = (tatMs: number, rate: Rate, nowMs: number): boolean => tatMs - rate.toleranceMs <= nowMs;

/** The key's TAT after a start at `nowMs`. */
export const afterStart = (tatMs: number, rate: Rate, nowMs: number): number =>
  Math.max(tatMs, nowMs) + rate.intervalMs;

/** When the next start conforms (now or later). */
export const nextTokenMs = (tatMs: number, rate: Rate): number => tatMs - rate.toleranceMs;

/** A bucket that is full behaves as no bucket at all: its row may go. */
export const isFull = (tatMs: number, nowMs: number): boolean => tatMs <= nowMs;

const NO_KEYS: readonly string[] = [];

/** The keys of a task's rate limits (templated at submit). */
export const rateKeysOf = (spec: { rateLimits?: readonly RateLimit[] } | undefined): readonly string[] =>
  spec?.rateLimits?.length ? spec.rateLimits.map(({ key }) => key) : NO_KEYS;
