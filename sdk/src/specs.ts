import { parseDurationMs } from "./duration.js";
import { TaskSpec } from "./gen/supervisor/v1/task.js";

type SpecOptions = Omit<Partial<TaskSpec>, "exec">;

/** A task that runs `command` with `args` (argv, never a shell). */
export function subprocess(
  command: string,
  args: string[] = [],
  options: SpecOptions & { env?: Record<string, string>; workingDir?: string } = {},
): TaskSpec {
  const { env = {}, workingDir = "", ...rest } = options;
  return {
    ...TaskSpec.fromPartial({}),
    ...rest,
    exec: { $case: "subprocess", value: { command, args, env, workingDir } },
  };
}

/** A task handled by `runner.handle(handler, fn)` in a runner process. */
export function embedded(handler: string, payload: Record<string, unknown> = {}, options: SpecOptions = {}): TaskSpec {
  return { ...TaskSpec.fromPartial({}), ...options, exec: { $case: "embedded", value: { handler, payload } } };
}

/** A WASI module on the runner's machine. */
export function wasm(
  modulePath: string,
  args: string[] = [],
  options: SpecOptions & { env?: Record<string, string> } = {},
): TaskSpec {
  const { env = {}, ...rest } = options;
  return { ...TaskSpec.fromPartial({}), ...rest, exec: { $case: "wasm", value: { modulePath, args, env } } };
}

/** "30s", "500ms", "1h30m", "7d" (the syntax of parseDurationMs) → google.protobuf.Duration. */
export function duration(text: string): { seconds: number; nanos: number } {
  const ms = parseDurationMs(text);
  return { seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
