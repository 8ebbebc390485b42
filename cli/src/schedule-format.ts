import {
  type Duration,
  formatDurationMs,
  ListSchedulesResponse,
  OverlapPolicy,
  overlapPolicyToJSON,
  Schedule,
  type TaskSpec,
} from "@supervisor/sdk";
import { protoJson } from "./proto-json.js";

const ms = (duration: Duration | undefined) =>
  duration === undefined ? undefined : duration.seconds * 1000 + Math.round(duration.nanos / 1e6);

/** "0 3 * * * Europe/Berlin", "every 5m", or "on demand" (a named definition). */
export function whenText(schedule: Schedule): string {
  const spec = schedule.spec;
  if (spec?.cron) return `${spec.cron} ${spec.timeZone || "UTC"}`;
  const interval = ms(spec?.interval);
  if (interval) return `every ${formatDurationMs(interval)}`;
  return "on demand";
}

/** "skip", "buffer-one", "allow-all", "cancel-other" (the --overlap words). */
export function overlapName(overlap: OverlapPolicy): string {
  const policy = overlap === OverlapPolicy.OVERLAP_POLICY_UNSPECIFIED ? OverlapPolicy.OVERLAP_POLICY_SKIP : overlap;
  return overlapPolicyToJSON(policy).replace("OVERLAP_POLICY_", "").toLowerCase().replace("_", "-");
}

const time = (date: Date | undefined) => date?.toISOString() ?? "-";

/** "12/0/1": fired, missed, skipped. */
const counts = (schedule: Schedule) => {
  const status = schedule.status;
  return `${status?.fired ?? 0}/${status?.missed ?? 0}/${status?.skipped ?? 0}`;
};

export const scheduleRow = (schedule: Schedule): string[] => [
  schedule.id,
  whenText(schedule),
  overlapName(schedule.overlap),
  schedule.paused ? "yes" : "no",
  time(schedule.status?.nextFireTimes[0]),
  time(schedule.status?.lastFireTime),
  counts(schedule),
];
export const SCHEDULE_HEADER = ["ID", "WHEN", "OVERLAP", "PAUSED", "NEXT FIRE", "LAST FIRE", "FIRED/MISSED/SKIPPED"];

function commandOf(task: TaskSpec | undefined): string {
  const exec = task?.exec;
  if (exec?.$case === "subprocess") return [exec.value.command, ...exec.value.args].join(" ");
  if (exec?.$case === "embedded") return `embedded:${exec.value.handler}`;
  if (exec?.$case === "wasm") return `wasm:${exec.value.modulePath}`;
  return "-";
}

const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "-";

/** The slot the fired tasks take: the template's, else schedule/<id>; with allow-all only the template's. */
function slotOf(schedule: Schedule): string {
  if (schedule.overlap === OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL) return schedule.task?.slot || "-";
  return schedule.task?.slot || `schedule/${schedule.id}`;
}

/** `schedule get`: what it is, when it fires next (5 times), what it fired. */
export function scheduleDetails(schedule: Schedule): string {
  const spec = schedule.spec;
  const status = schedule.status;
  const duration = (d: Duration | undefined, unset: string) => {
    const value = ms(d);
    return value ? formatDurationMs(value) : unset;
  };
  const lines = [
    `id:         ${schedule.id}`,
    `when:       ${whenText(schedule)}`,
    ...(spec?.jitter ? [`jitter:     ${duration(spec.jitter, "-")}`] : []),
    ...(spec?.startTime ? [`start:      ${time(spec.startTime)}`] : []),
    ...(spec?.endTime ? [`end:        ${time(spec.endTime)}`] : []),
    `overlap:    ${overlapName(schedule.overlap)}`,
    `catch-up:   ${duration(schedule.catchupWindow, "60s")}`,
    `paused:     ${schedule.paused ? "yes" : "no"}`,
    ...(schedule.note ? [`note:       ${schedule.note}`] : []),
    `labels:     ${labelsText(schedule.labels)}`,
    `command:    ${commandOf(schedule.task)}`,
    `slot:       ${slotOf(schedule)}`,
    `created:    ${time(schedule.createTime)}`,
    `updated:    ${time(schedule.updateTime)} (generation ${schedule.generation})`,
    `fired:      ${status?.fired ?? 0}, missed ${status?.missed ?? 0}, skipped ${status?.skipped ?? 0}`,
    `last fire:  ${time(status?.lastFireTime)}`,
    "next fires:",
    ...(status?.nextFireTimes.length ? status.nextFireTimes.map((t) => `  ${time(t)}`) : ["  -"]),
    "recent tasks (newest first):",
    ...(status?.recentTaskIds.length ? status.recentTaskIds.map((id) => `  ${id}`) : ["  -"]),
    `all its tasks: supervisor list -l supervisor.dev/schedule=${schedule.id}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Canonical proto JSON, one object per line. */
export const scheduleJson = {
  schedule: (schedule: Schedule) => JSON.stringify(protoJson("supervisor.v1.Schedule", Schedule.encode, schedule)),
  page: (page: ListSchedulesResponse) =>
    JSON.stringify(protoJson("supervisor.v1.ListSchedulesResponse", ListSchedulesResponse.encode, page)),
};
