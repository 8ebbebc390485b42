import { type SubmitTaskRequest, TaskSpec } from "@supervisor/sdk";

/** A subprocess spec, with any top-level fields overridden. */
export function subprocessSpec(
  command = "echo",
  args: string[] = ["hello"],
  overrides: Partial<TaskSpec> = {},
): TaskSpec {
  return { ...TaskSpec.fromPartial({ exec: { $case: "subprocess", value: { command, args } } }), ...overrides };
}

export function submitRequest(spec: TaskSpec, requestId = ""): SubmitTaskRequest {
  return { spec, requestId };
}
