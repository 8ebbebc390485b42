import type { ConnectResponse_Assign } from "../gen/supervisor/v1/runner_service.js";

/** The placeholders a log URL template may hold, each filled (URL-encoded) from the run's assign. */
const PLACEHOLDERS: Record<string, (assign: ConnectResponse_Assign) => string> = {
  task_id: (assign) => assign.taskId,
  run_id: (assign) => assign.runId,
  attempt: (assign) => String(assign.attempt),
};

/**
 * RunnerOptions.logUrl from a template: `https://logs.example/{task_id}/{attempt}` gives each run its own link.
 * Placeholders: {task_id}, {run_id}, {attempt}; any other `{word}` is left as it is.
 */
export function logUrlTemplate(template: string): (assign: ConnectResponse_Assign) => string {
  return (assign) =>
    template.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = PLACEHOLDERS[name];
      return value ? encodeURIComponent(value(assign)) : whole;
    });
}
