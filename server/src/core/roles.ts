import type { Role } from "../config.js";

const TASK = "supervisor.v1.TaskService/";
const RUNNER = "supervisor.v1.RunnerService/";
const SCHEDULE = "supervisor.v1.ScheduleService/";
const DISPATCH = "supervisor.v1.DispatchService/";

const READ_TASKS = ["GetTask", "ListTasks", "WatchTasks", "StreamTaskOutput", "ListTaskRuns", "ExplainTask"].map(
  (m) => TASK + m,
);
const WRITE_TASKS = ["SubmitTask", "BatchSubmitTasks", "CancelTask", "CancelTasks", "RerunTask"].map((m) => TASK + m);
const READ_SCHEDULES = ["GetSchedule", "ListSchedules"].map((m) => SCHEDULE + m);
/** A schedule submits tasks: whoever may submit may define, change and fire schedules. */
const WRITE_SCHEDULES = [
  "CreateSchedule",
  "UpdateSchedule",
  "DeleteSchedule",
  "PauseSchedule",
  "UnpauseSchedule",
  "TriggerSchedule",
].map((m) => SCHEDULE + m);

/** Anyone who may read tasks may see why they are held; pausing and resuming is the operator's alone. */
const READ_PAUSES = [`${DISPATCH}ListDispatchPauses`];

/**
 * What each role may call ("*" = every method). Health and reflection are decided separately.
 * Runner administration (DrainRunner, UndrainRunner, DeleteRunner) is the operator's alone.
 */
const ALLOWED: Record<Role, ReadonlySet<string> | "*"> = {
  client: new Set([...READ_TASKS, ...WRITE_TASKS, ...READ_SCHEDULES, ...WRITE_SCHEDULES, ...READ_PAUSES]),
  runner: new Set([`${RUNNER}Connect`]),
  operator: "*",
  readonly: new Set([...READ_TASKS, ...READ_SCHEDULES, ...READ_PAUSES, `${RUNNER}ListRunners`]),
};

/** `method` is the full path without the leading slash, e.g. "supervisor.v1.TaskService/SubmitTask". */
export function roleMayCall(role: Role, method: string): boolean {
  const allowed = ALLOWED[role];
  return allowed === "*" || allowed.has(method);
}
