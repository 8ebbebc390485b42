import type { TaskSpec } from "./gen/supervisor/v1/task.js";

const byKey = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);

/** A string map with its entries in key order (protobuf encodes maps in insertion order). */
export const sortedMap = <V>(map: Record<string, V>): Record<string, V> =>
  Object.fromEntries(Object.entries(map).sort(byKey));

/** A JSON value (a Struct payload) with every object's keys in order, at every depth. */
export function sortedDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortedDeep) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(byKey)
        .map(([k, v]) => [k, sortedDeep(v)]),
    ) as T;
  return value;
}

/**
 * The spec with every map sorted, so that its protobuf encoding is the same
 * whatever order a client built its maps in (deterministic encoding).
 */
export function canonicalSpec(spec: TaskSpec): TaskSpec {
  const exec = spec.exec;
  return {
    ...spec,
    labels: sortedMap(spec.labels),
    runnerSelector: spec.runnerSelector && {
      ...spec.runnerSelector,
      matchLabels: sortedMap(spec.runnerSelector.matchLabels),
    },
    exec:
      exec?.$case === "subprocess"
        ? { $case: "subprocess", value: { ...exec.value, env: sortedMap(exec.value.env) } }
        : exec?.$case === "wasm"
          ? { $case: "wasm", value: { ...exec.value, env: sortedMap(exec.value.env) } }
          : exec?.$case === "embedded"
            ? {
                $case: "embedded",
                value: { ...exec.value, payload: exec.value.payload && sortedDeep(exec.value.payload) },
              }
            : exec,
  };
}
