import type { RunnerSelector, TaskSpec } from "./gen/supervisor/v1/task.js";
import type { TaskFilter } from "./gen/supervisor/v1/task_service.js";

type Builtin = Date | ((...args: never[]) => unknown) | Uint8Array | string | number | boolean | undefined;

/**
 * ts-proto's DeepPartial (the generated files keep theirs private): every field
 * optional at every depth, a oneof still named by its `$case`. ts-proto
 * messages have required repeated and map fields; the SDK takes this shape and
 * fills the rest in with `Message.fromPartial`, so `{ matchLabels: { gpu: "true" } }`
 * is a whole RunnerSelector. Arrays may be readonly (`TERMINAL_PHASES`, `as const`):
 * they are only read.
 */
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<DeepPartial<U>>
    : T extends { $case: string; value: unknown }
      ? { $case: T["$case"]; value?: DeepPartial<T["value"]> }
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : Partial<T>;

/** A TaskSpec with any field left out (the server's defaults apply). */
export type TaskSpecInput = DeepPartial<TaskSpec>;
/** A RunnerSelector with either part left out. */
export type RunnerSelectorInput = DeepPartial<RunnerSelector>;
/** A list/watch filter with any field left out (empty = no condition). */
export type TaskFilterInput = DeepPartial<TaskFilter>;

/**
 * `Message.fromPartial(input)`: a whole message, every left-out field at its
 * default. (ts-proto's own parameter type wants mutable arrays; fromPartial
 * only reads them.)
 */
export function fromInput<T>(message: { fromPartial(object: never): T }, input: DeepPartial<NoInfer<T>>): T {
  return message.fromPartial(input as never);
}
