import type { Fairness, FieldViolation, TaskSpec } from "@supervisor/sdk";
import { z } from "zod";
import { MAX_FAIRNESS_WEIGHT } from "../core/fairness.js";
import { boundedString } from "./common.js";
import { templatedKey } from "./templated-key.js";

/** TaskSpec.fairness as sent: the shape only (templating needs the labels: `resolveFairness`). */
export const fairnessSchema = z.object({
  // A template may be longer than the key it becomes.
  key: boundedString(1024).min(1, "required: the fairness key (it may name labels: tenant-{labels.tenant})"),
  weight: z
    .number()
    .int()
    .min(0, "must not be negative (0 = 1)")
    .max(MAX_FAIRNESS_WEIGHT, `at most ${MAX_FAIRNESS_WEIGHT}`),
});

/**
 * The spec's fairness with its key's label template filled (as concurrency keys are, to the same rules), or
 * why it is bad: a label the task lacks, or a key that is no key once filled. Undefined when it has none.
 */
export function resolveFairness(spec: TaskSpec, prefix: string): Fairness | FieldViolation[] | undefined {
  if (!spec.fairness) return undefined;
  const filled = templatedKey(spec.fairness.key, spec.labels, `${prefix}spec.fairness.key`);
  if (!("key" in filled)) return [filled];
  return { key: filled.key, weight: spec.fairness.weight };
}
