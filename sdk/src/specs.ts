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

/** "30s", "500ms", "5m", "2h" → google.protobuf.Duration. */
export function duration(text: string): { seconds: number; nanos: number } {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${JSON.stringify(text)} (use 500ms, 30s, 5m, 2h)`);
  const ms = Math.round(
    Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"],
  );
  return { seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
