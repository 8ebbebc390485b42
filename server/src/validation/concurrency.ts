import type { ConcurrencyKey, FieldViolation, TaskSpec } from "@supervisor/sdk";
import { z } from "zod";
import { type ConcurrencyLimits, MAX_CONCURRENCY_KEYS, MAX_CONCURRENCY_LIMIT } from "../core/concurrency.js";
import { boundedString } from "./common.js";
import { templatedKey } from "./templated-key.js";

/** TaskSpec.concurrency as sent: the shape only (templating needs the labels: `resolveConcurrency`). */
export const concurrencySchema = z
  .array(
    z.object({
      // A template may be longer than the key it becomes.
      key: boundedString(1024).min(1, "required: the concurrency key"),
      maxRunning: z
        .number()
        .int()
        .min(0, "must not be negative (0 = the server's limit for the key)")
        .max(MAX_CONCURRENCY_LIMIT, `at most ${MAX_CONCURRENCY_LIMIT}`),
    }),
  )
  .max(MAX_CONCURRENCY_KEYS, `at most ${MAX_CONCURRENCY_KEYS} concurrency keys`);

/**
 * The spec's concurrency keys with their label templates filled, or every bad one: a label the task lacks,
 * a key that is no key once filled, a key named twice, or max_running 0 with no server limit for it.
 * `limits` undefined: the server's limits are not checked here (they are at dispatch).
 */
export function resolveConcurrency(
  spec: TaskSpec,
  limits: ConcurrencyLimits | undefined,
  prefix: string,
): ConcurrencyKey[] | FieldViolation[] {
  const violations: FieldViolation[] = [];
  const resolved: ConcurrencyKey[] = [];
  const seen = new Set<string>();
  (spec.concurrency ?? []).forEach((entry, i) => {
    const field = `${prefix}spec.concurrency[${i}]`;
    const filled = templatedKey(entry.key, spec.labels, `${field}.key`, seen);
    if (!("key" in filled)) {
      violations.push(filled);
      return;
    }
    const { key } = filled;
    if (entry.maxRunning === 0 && limits && !limits.has(key)) {
      violations.push({
        field: `${field}.max_running`,
        description: `0 means the server's limit for ${JSON.stringify(key)}; none is configured (concurrencyLimits)`,
      });
      return;
    }
    resolved.push({ key, maxRunning: entry.maxRunning });
  });
  return violations.length > 0 ? violations : resolved;
}
