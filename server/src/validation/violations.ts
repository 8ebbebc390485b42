import type { FieldViolation } from "@supervisor/sdk";
import type { z } from "zod";

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Turns a zod issue path over a ts-proto object into the request path a
 * client knows from the proto: camelCase → snake_case, array indexes as
 * `[i]`, and a oneof's `{ $case, value }` as the chosen field's name
 * (`spec.exec.value.command` → `spec.subprocess.command`).
 */
export function requestPath(path: readonly PropertyKey[], input: unknown, prefix = ""): string {
  let out = prefix;
  let node: unknown = input;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const next = path[i + 1];
    const child =
      node === null || typeof node !== "object" ? undefined : (node as Record<PropertyKey, unknown>)[segment];
    if (typeof segment === "number") {
      out += `[${segment}]`;
    } else if (next === "value" && child && typeof child === "object" && "$case" in child) {
      out += (out ? "." : "") + snake(String((child as { $case: string }).$case));
      node = (child as unknown as { value: unknown }).value;
      i++;
      continue;
    } else {
      out += (out ? "." : "") + snake(String(segment));
    }
    node = child;
  }
  return out;
}

/** One violation per bad field: the first message for each path wins. */
export function violationsOf(error: z.ZodError, input: unknown, prefix = ""): FieldViolation[] {
  const byField = new Map<string, string>();
  for (const issue of error.issues) {
    const field = requestPath(issue.path, input, prefix);
    if (!byField.has(field)) byField.set(field, issue.message);
  }
  return [...byField].map(([field, description]) => ({ field, description }));
}
