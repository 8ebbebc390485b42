import { type Schedule, ScheduleSpec } from "@supervisor/sdk";
import { invalidArgument } from "../errors.js";

/** The client fields a mask may name (snake_case, as in the proto) and their ts-proto names. */
const TOP_LEVEL = {
  spec: "spec",
  task: "task",
  overlap: "overlap",
  catchup_window: "catchupWindow",
  paused: "paused",
  labels: "labels",
  note: "note",
} as const satisfies Record<string, keyof Schedule>;

const SPEC_FIELDS = {
  cron: "cron",
  interval: "interval",
  time_zone: "timeZone",
  jitter: "jitter",
  start_time: "startTime",
  end_time: "endTime",
} as const satisfies Record<string, keyof ScheduleSpec>;

const OUTPUT_ONLY = new Set(["id", "status", "create_time", "update_time", "generation"]);

type TopLevel = keyof typeof TOP_LEVEL;
type SpecField = keyof typeof SPEC_FIELDS;

/** Set in the AIP-134 sense: a message present, a scalar or map not its default. */
function isSet(patch: Schedule, name: TopLevel): boolean {
  if (name === "labels") return Object.keys(patch.labels).length > 0;
  const value = patch[TOP_LEVEL[name]];
  return value !== undefined && value !== "" && value !== 0 && value !== false;
}

/**
 * `current` with the fields of `patch` that `mask` names (AIP-134): "spec" replaces the whole spec,
 * "spec.<field>" one of its fields (an unset one in the patch clears it), "*" every client field.
 * No mask or an empty one: every client field set in `patch`. An unknown or output-only path (id
 * never changes): INVALID_ARGUMENT, field `update_mask`. The result still needs validateDefinition.
 */
export function applyUpdateMask(current: Schedule, patch: Schedule, mask: readonly string[] | undefined): Schedule {
  const paths =
    mask && mask.length > 0 ? mask : (Object.keys(TOP_LEVEL) as TopLevel[]).filter((name) => isSet(patch, name));
  const problems = paths.flatMap((path) => {
    if (path === "*" || path in TOP_LEVEL) return [];
    if (path.startsWith("spec.") && path.slice(5) in SPEC_FIELDS) return [];
    const why = OUTPUT_ONLY.has(path) ? "cannot be changed" : "is not a field of Schedule a client sets";
    return [{ field: "update_mask", description: `${JSON.stringify(path)} ${why}` }];
  });
  if (problems.length > 0) throw invalidArgument(problems);
  const result: Schedule = { ...current };
  const copy = <K extends keyof Schedule>(key: K) => {
    result[key] = structuredClone(patch[key]);
  };
  for (const path of paths) {
    if (path === "*") for (const key of Object.values(TOP_LEVEL)) copy(key);
    else if (path in TOP_LEVEL) copy(TOP_LEVEL[path as TopLevel]);
    else {
      const key = SPEC_FIELDS[path.slice(5) as SpecField];
      const spec = { ...(result.spec ?? ScheduleSpec.fromPartial({})) };
      const empty = ScheduleSpec.fromPartial({});
      Object.assign(spec, { [key]: structuredClone(patch.spec?.[key] ?? empty[key]) });
      result.spec = spec;
    }
  }
  return result;
}
