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

/** Whether a runner advertising `runnerKinds` runs tasks of `kind` ("embedded:*" covers every handler). */
export function supportsKind(runnerKinds: readonly string[], kind: string): boolean {
  return runnerKinds.includes(kind) || (kind.startsWith("embedded:") && runnerKinds.includes("embedded:*"));
}
