import type { TaskSpec } from "./gen/supervisor/v1/task.js";

/**
 * The kind of a task, matched against the kinds a runner advertises: "subprocess", "wasm", "container"
 * or "embedded:<handler>".
 */
export function taskKind(spec: TaskSpec): string | undefined {
  switch (spec.exec?.$case) {
    case "subprocess":
      return "subprocess";
    case "wasm":
      return "wasm";
    case "container":
      return "container";
    case "embedded":
      return `embedded:${spec.exec.value.handler}`;
    default:
      return undefined;
  }
}

/**
 * What a runner must run to take the task: its kind, joined by "+" with "subprocess" when it has init steps
 * of another kind (a runner runs them with its subprocess executor, and refuses them without one). "+" is in
 * no kind a runner may advertise (the hello's pattern) nor in a handler's name.
 */
export function routingKind(spec: TaskSpec): string | undefined {
  const kind = taskKind(spec);
  if (!kind || kind === "subprocess" || (spec.init?.length ?? 0) === 0) return kind;
  return `${kind}+subprocess`;
}

/** Whether a runner advertising `runnerKinds` runs tasks of `kind` ("embedded:*" covers every handler). */
export function supportsKind(runnerKinds: readonly string[], kind: string): boolean {
  if (kind.includes("+")) return kind.split("+").every((one) => supportsKind(runnerKinds, one));
  return runnerKinds.includes(kind) || (kind.startsWith("embedded:") && runnerKinds.includes("embedded:*"));
}
