import {
  formatDurationMs,
  ListTasksResponse,
  Run,
  type RunnerInfo,
  type RunnerState,
  type RunPhase,
  runnerStateToJSON,
  runPhaseToJSON,
  StreamTaskOutputResponse,
  Task,
  TaskPhase,
  taskPhaseToJSON,
  WatchTasksResponse,
} from "@supervisor/sdk";
import { Runner as RunnerMessage } from "@supervisor/sdk/gen/supervisor/v1/runner";
import { protoJson } from "./proto-json.js";

const durationMs = (d: { seconds: number; nanos: number }) => d.seconds * 1000 + Math.round(d.nanos / 1e6);

const useColor = () => process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);

const PHASE_COLOR: Partial<Record<TaskPhase, number>> = {
  [TaskPhase.TASK_PHASE_PENDING]: 33,
  [TaskPhase.TASK_PHASE_RUNNING]: 36,
  [TaskPhase.TASK_PHASE_SUCCEEDED]: 32,
  [TaskPhase.TASK_PHASE_FAILED]: 31,
  [TaskPhase.TASK_PHASE_TIMEOUT]: 31,
  [TaskPhase.TASK_PHASE_EXHAUSTED]: 31,
  [TaskPhase.TASK_PHASE_CANCELED]: 90,
};

/** "SUCCEEDED", coloured by outcome on a terminal. */
export const phaseName = (phase: TaskPhase) =>
  paint(PHASE_COLOR[phase] ?? 0, taskPhaseToJSON(phase).replace("TASK_PHASE_", ""));
export const runPhaseName = (phase: RunPhase) => runPhaseToJSON(phase).replace("RUN_PHASE_", "");
export const runnerStateName = (state: RunnerState) => runnerStateToJSON(state).replace("RUNNER_STATE_", "");

/** "3s", "5m", "2h", "4d" since `time`. */
export function age(time: Date | undefined, nowMs = Date.now()): string {
  if (!time) return "-";
  const seconds = Math.max(0, Math.round((nowMs - time.getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes this strips
const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

const columnWidths = (header: string[], rows: string[][]) =>
  header.map((h, i) => Math.max(h.length, ...rows.map((row) => visible(row[i] ?? "").length)));

const tableLine = (widths: number[], cells: string[]) =>
  cells
    .map((cell, i) =>
      i === cells.length - 1 ? cell : cell + " ".repeat(Math.max(0, widths[i]! - visible(cell).length)),
    )
    .join("  ")
    .trimEnd();

/** Left-aligned columns, two spaces apart; colours do not upset the alignment. */
export function table(header: string[], rows: string[][]): string {
  const widths = columnWidths(header, rows);
  return `${[tableLine(widths, header), ...rows.map((row) => tableLine(widths, row))].join("\n")}\n`;
}

/**
 * A table printed as it grows (list --watch, watch): the widths are set by the
 * header and the first rows, later rows are padded to them (a longer cell
 * pushes its row only), as kubectl get --watch does.
 */
export class LiveTable {
  private readonly widths: number[];
  constructor(header: string[], firstRows: string[][] = []) {
    this.widths = columnWidths(header, firstRows);
    process.stdout.write(table(header, firstRows));
  }
  row(cells: string[]): void {
    process.stdout.write(`${tableLine(this.widths, cells)}\n`);
  }
}

export function describeCommand(task: Task): string {
  const exec = task.spec?.exec;
  if (exec?.$case === "subprocess") return [exec.value.command, ...exec.value.args].join(" ");
  if (exec?.$case === "embedded") return `embedded:${exec.value.handler}`;
  if (exec?.$case === "wasm") return `wasm:${exec.value.modulePath}`;
  return "-";
}

export const taskRow = (task: Task): string[] => [
  task.id,
  phaseName(task.status!.phase),
  task.status!.reason || "-",
  String(task.status!.attempt),
  task.spec!.slot || "-",
  age(task.createTime),
  describeCommand(task).slice(0, 60),
];
export const TASK_HEADER = ["ID", "PHASE", "REASON", "ATTEMPT", "SLOT", "AGE", "COMMAND"];

const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "-";

/** `list -o wide`: where and when as well. */
export const wideTaskRow = (task: Task): string[] => [
  ...taskRow(task).slice(0, 6),
  task.status!.runnerId || "-",
  String(task.spec!.priority),
  task.status!.nextAttemptTime?.toISOString() ?? "-",
  labelsText(task.spec!.labels).slice(0, 60),
  describeCommand(task).slice(0, 60),
];
export const WIDE_TASK_HEADER = [...TASK_HEADER.slice(0, 6), "RUNNER", "PRIORITY", "NEXT TRY", "LABELS", "COMMAND"];

export const runRow = (run: Run): string[] => [
  String(run.attempt),
  run.id,
  // A retry-after ends the run FAILED but not as a failure: the downstream asked to wait.
  run.retryAfter ? `DEFERRED (retry after ${formatDurationMs(durationMs(run.retryAfter))})` : runPhaseName(run.phase),
  run.exitCode === undefined ? "-" : String(run.exitCode),
  run.runnerName,
  String(run.outputBytes) + (run.outputTruncated ? " (truncated)" : ""),
  run.error || "-",
];
export const RUN_HEADER = ["ATTEMPT", "RUN", "PHASE", "EXIT", "RUNNER", "OUTPUT", "ERROR"];

/** `get <parent>`: one line per child of a fan-out, by runner (its run: the latest attempt). */
export const childRow = (child: Task, run: Run | undefined, runnerName: string | undefined): string[] => [
  runnerName ?? run?.runnerName ?? child.spec!.pinnedRunnerId,
  phaseName(child.status!.phase),
  child.status!.exitCode === undefined ? "-" : String(child.status!.exitCode),
  run ? String(run.outputBytes) + (run.outputTruncated ? " (truncated)" : "") : "-",
  child.id,
];
export const CHILD_HEADER = ["RUNNER", "PHASE", "EXIT", "OUTPUT", "TASK"];

/** "2 children: 1 running, 1 succeeded". */
export function fanOutText(fanOut: NonNullable<NonNullable<Task["status"]>["fanOut"]>): string {
  const parts = (["pending", "running", "succeeded", "failed", "canceled"] as const)
    .filter((name) => fanOut[name] > 0)
    .map((name) => `${fanOut[name]} ${name}`);
  const children = `${fanOut.children} ${fanOut.children === 1 ? "child" : "children"}`;
  return parts.length ? `${children}: ${parts.join(", ")}` : children;
}

export const runnerRow = (runner: RunnerInfo): string[] => [
  runner.id,
  runner.name,
  runnerStateName(runner.state),
  `${runner.running}/${runner.capacity}`,
  labelsText(runner.labels),
  runner.kinds.join(","),
  age(runner.lastHeartbeatTime),
];
export const RUNNER_HEADER = ["ID", "NAME", "STATE", "RUNNING", "LABELS", "KINDS", "SEEN"];

/** Canonical proto JSON (as buf curl prints it), one object per line. */
export const json = {
  task: (task: Task) => JSON.stringify(protoJson("supervisor.v1.Task", Task.encode, task)),
  run: (run: Run) => JSON.stringify(protoJson("supervisor.v1.Run", Run.encode, run)),
  runner: (runner: RunnerInfo) => JSON.stringify(protoJson("supervisor.v1.Runner", RunnerMessage.encode, runner)),
  event: (event: WatchTasksResponse) =>
    JSON.stringify(protoJson("supervisor.v1.WatchTasksResponse", WatchTasksResponse.encode, event)),
  page: (page: ListTasksResponse) =>
    JSON.stringify(protoJson("supervisor.v1.ListTasksResponse", ListTasksResponse.encode, page)),
  output: (event: StreamTaskOutputResponse) =>
    JSON.stringify(protoJson("supervisor.v1.StreamTaskOutputResponse", StreamTaskOutputResponse.encode, event)),
};
