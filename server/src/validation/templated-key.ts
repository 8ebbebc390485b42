import type { FieldViolation } from "@supervisor/sdk";
import { CONCURRENCY_KEY_PATTERN, fillKeyTemplate } from "../core/concurrency.js";

/**
 * A key template of a concurrency key, rate limit or fairness key filled from the task's labels, or why it is
 * bad (at `field`): a label the task lacks, a key that is no key once filled, or (with `seen`, the keys of the
 * same list so far) a key named twice. All three kinds of key follow these rules.
 */
export function templatedKey(
  template: string,
  labels: Readonly<Record<string, string>>,
  field: string,
  seen?: Set<string>,
): { key: string } | FieldViolation {
  const filled = fillKeyTemplate(template, labels);
  if ("missing" in filled) {
    return { field, description: `names label ${JSON.stringify(filled.missing)}, which the task does not have` };
  }
  const { key } = filled;
  if (!CONCURRENCY_KEY_PATTERN.test(key)) {
    return {
      field,
      description: `${JSON.stringify(key)}: a key is 1..253 characters of [A-Za-z0-9._:/-] (after templating)`,
    };
  }
  if (seen?.has(key)) return { field, description: `${JSON.stringify(key)} is named twice` };
  seen?.add(key);
  return { key };
}
