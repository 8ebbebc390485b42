import type { FieldViolation, RateLimit, TaskSpec } from "@supervisor/sdk";
import { z } from "zod";
import { MAX_BURST, MAX_PER_MINUTE, MAX_PER_SECOND, MAX_RATE_LIMITS, type RateLimits } from "../core/rate-limit.js";
import { boundedString } from "./common.js";
import { templatedKey } from "./templated-key.js";

const rate = (max: number, unit: string) =>
  z
    .number()
    .refine(Number.isFinite, "must be a finite number")
    .refine((value) => value >= 0, `must not be negative (0 = not per ${unit})`)
    .refine((value) => value <= max, `at most ${max}`);

/** TaskSpec.rate_limits as sent: the shape only (templating needs the labels: `resolveRateLimits`). */
export const rateLimitsSchema = z
  .array(
    z.object({
      // A template may be longer than the key it becomes.
      key: boundedString(1024).min(1, "required: the rate-limit key"),
      perSecond: rate(MAX_PER_SECOND, "second"),
      perMinute: rate(MAX_PER_MINUTE, "minute"),
      burst: z.number().int().min(0, "must not be negative (0 = 1)").max(MAX_BURST, `at most ${MAX_BURST}`),
    }),
  )
  .max(MAX_RATE_LIMITS, `at most ${MAX_RATE_LIMITS} rate limits`);

/**
 * The spec's rate limits with their key templates filled (as concurrency keys are), or every bad one: a label
 * the task lacks, a key that is no key once filled, a key named twice, both per_second and per_minute set, or
 * neither with no server rate for the key. `limits` undefined: the server's rates are not checked here (a
 * task relying on a missing one waits, and says why).
 */
export function resolveRateLimits(
  spec: TaskSpec,
  limits: RateLimits | undefined,
  prefix: string,
): RateLimit[] | FieldViolation[] {
  const violations: FieldViolation[] = [];
  const resolved: RateLimit[] = [];
  const seen = new Set<string>();
  (spec.rateLimits ?? []).forEach((entry, i) => {
    const field = `${prefix}spec.rate_limits[${i}]`;
    const filled = templatedKey(entry.key, spec.labels, `${field}.key`, seen);
    if (!("key" in filled)) {
      violations.push(filled);
      return;
    }
    const { key } = filled;
    if (entry.perSecond > 0 && entry.perMinute > 0) {
      violations.push({ field: `${field}.per_minute`, description: "set one of per_second and per_minute, not both" });
      return;
    }
    if (entry.perSecond === 0 && entry.perMinute === 0 && limits && !limits.has(key)) {
      violations.push({
        field: `${field}.per_second`,
        description:
          `neither per_second nor per_minute is set, which means the server's rate for ${JSON.stringify(key)}; ` +
          "none is configured (rateLimits)",
      });
      return;
    }
    resolved.push({ ...entry, key });
  });
  return violations.length > 0 ? violations : resolved;
}
