import type { LabelSelector } from "./parse.js";

/** Whether a label map satisfies every requirement (Kubernetes semantics). */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  return selector.every(({ key, operator, values }) => {
    // Own properties only: a label map is plain data, "constructor" is not a label.
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    switch (operator) {
      case "exists":
        return value !== undefined;
      case "!exists":
        return value === undefined;
      case "in":
        return value !== undefined && values.includes(value);
      case "notin":
        // Kubernetes semantics: an absent label satisfies != and notin.
        return value === undefined || !values.includes(value);
      default:
        return false;
    }
  });
}
