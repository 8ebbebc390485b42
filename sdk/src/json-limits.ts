/**
 * Bounds on the JSON a task carries (an embedded payload, a run's result).
 * Each JSON level is two protobuf levels (Struct → Value), responses embed the
 * value a few messages deeper still, and protobuf decoders stop at depth 100:
 * a value the supervisor stores must stay readable in every response that
 * carries it, in every language.
 */
export const MAX_JSON_NESTING = 32;
/** Serialized as JSON; about what fits comfortably in one message. */
export const MAX_JSON_BYTES = 256 * 1024;

/** Nesting depth of a JSON value (a scalar is 0, `{}` and `[]` are 1). */
export function jsonNesting(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  let deepest = 0;
  for (const child of Object.values(value as object)) deepest = Math.max(deepest, jsonNesting(child));
  return deepest + 1;
}

/** Why a JSON object breaks the bounds above, or undefined when it fits. */
export function jsonLimitProblem(value: Record<string, unknown>): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_JSON_BYTES) return `${bytes} bytes of JSON, at most ${MAX_JSON_BYTES}`;
  const depth = jsonNesting(value);
  if (depth > MAX_JSON_NESTING) return `nested ${depth} levels deep, at most ${MAX_JSON_NESTING}`;
  return undefined;
}

/** Bound on free text a runner reports about a run (its error): enough to explain, never enough to bloat. */
export const MAX_ERROR_TEXT = 4 * 1024;

/** `text` cut to at most `max` characters, never inside a surrogate pair, with a marker when cut. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = ` … [${text.length - max} more characters cut]`;
  let end = Math.max(0, max - marker.length);
  const unit = text.charCodeAt(end - 1);
  if (unit >= 0xd800 && unit <= 0xdbff) end--;
  return text.slice(0, end) + marker;
}
