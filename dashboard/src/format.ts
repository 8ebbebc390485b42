// How values read on screen: phases without their enum prefix, times relative and absolute, commands.
import type { Json } from "./api";

export const TASK_PHASES = [
  "TASK_PHASE_PENDING",
  "TASK_PHASE_RUNNING",
  "TASK_PHASE_SUCCEEDED",
  "TASK_PHASE_FAILED",
  "TASK_PHASE_TIMEOUT",
  "TASK_PHASE_CANCELED",
  "TASK_PHASE_EXHAUSTED",
] as const;

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMEOUT", "CANCELED", "EXHAUSTED"]);

/** "TASK_PHASE_RUNNING" → "RUNNING" (and RUN_PHASE_…, RUNNER_STATE_…). */
export const shortEnum = (value: string | undefined): string =>
  (value ?? "").replace(/^(TASK_PHASE|RUN_PHASE|RUNNER_STATE|OVERLAP_POLICY|EVENT_TYPE)_/, "");

export const phaseOf = (task: Json): string => shortEnum(task?.status?.phase ?? "TASK_PHASE_PENDING");
export const isTerminal = (task: Json): boolean => TERMINAL.has(phaseOf(task));

export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  const [n, unit] =
    abs < 60
      ? [abs, "s"]
      : abs < 3600
        ? [Math.round(abs / 60), "m"]
        : abs < 86_400
          ? [Math.round(abs / 3600), "h"]
          : [Math.round(abs / 86_400), "d"];
  return seconds >= 0 ? `in ${n}${unit}` : `${n}${unit} ago`;
}

export const absoluteTime = (iso: string | undefined): string => (iso ? new Date(iso).toLocaleString() : "—");

/** What the task runs, in one line: `echo hello`, `handler:resize`, `wasm:mod.wasm`. */
export function commandOf(spec: Json): string {
  if (spec?.subprocess) return [spec.subprocess.command, ...(spec.subprocess.args ?? [])].join(" ");
  if (spec?.embedded) return `handler:${spec.embedded.handler}`;
  if (spec?.wasm) return `wasm:${spec.wasm.modulePath}`;
  if (spec?.container) return `container:${spec.container.image ?? ""}`;
  return "—";
}

export const labelsOf = (labels: Record<string, string> | undefined): string =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/** The first 8 hex digits after the time part's tail: enough to tell tasks apart in a table. */
export const shortId = (id: string): string => (id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id);

export function durationMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
