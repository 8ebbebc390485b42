/** Kubernetes label syntax (k8s.io/apimachinery validation): what keys and values may look like. */

const NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
const ALPHANUMERIC_RULE =
  "must start and end with a letter or digit and contain only letters, digits, '-', '_' and '.'";
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** An error description, or undefined when `key` is a valid label key ([prefix/]name). */
export function validateLabelKey(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return (
        `key prefix ${JSON.stringify(prefix)} must be a DNS subdomain ` +
        "(lowercase letters, digits, '-' and '.', at most 253 characters)"
      );
    }
  }
  if (name.length === 0) return "key name must not be empty";
  if (name.length > 63) return `key name must be at most 63 characters (has ${name.length})`;
  if (!NAME.test(name)) return `key name ${JSON.stringify(name)} ${ALPHANUMERIC_RULE}`;
  return undefined;
}

/** An error description, or undefined when `value` is a valid label value (may be empty). */
export function validateLabelValue(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return `value must be at most 63 characters (has ${value.length})`;
  if (!NAME.test(value)) return `value ${JSON.stringify(value)} ${ALPHANUMERIC_RULE}`;
  return undefined;
}

/** One entry per bad key or value, plus one when there are too many labels. */
export function validateLabels(
  labels: Record<string, string>,
  maxEntries = 64,
): { key: string; description: string }[] {
  const problems: { key: string; description: string }[] = [];
  const entries = Object.entries(labels);
  if (entries.length > maxEntries)
    problems.push({ key: "", description: `at most ${maxEntries} labels (has ${entries.length})` });
  for (const [key, value] of entries) {
    const problem = validateLabelKey(key) ?? validateLabelValue(value);
    if (problem) problems.push({ key, description: problem });
  }
  return problems;
}
