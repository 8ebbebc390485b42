import {
  type Duration,
  type FieldViolation,
  OverlapPolicy,
  type Schedule,
  type ScheduleSpec,
  type TaskSpec,
  Trigger,
} from "@supervisor/sdk";
import { DomainError, invalidArgument } from "../errors.js";
import { boundedString, knownEnum, labelMap, validDate } from "../validation/common.js";
import { validateSubmit } from "../validation/requests.js";
import { violationsOf } from "../validation/violations.js";
import { compileCron, cronProblem, timeZoneProblem } from "./cron.js";
import { DAY_MS, DEFAULT_CATCHUP_MS, durationMs, msDuration, SECOND_MS } from "./durations.js";

const ID_PATTERN = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_SPAN_MS = 366 * DAY_MS;
const MAX_JITTER_MS = DAY_MS;
/** Labels a template may have: each fired task gets two more, and a task has at most 64. */
export const MAX_TEMPLATE_LABELS = 62;
const RESERVED_LABEL_PREFIX = "supervisor.dev/";
/** How many gaps between cron ticks the jitter is checked against, from start_time or JITTER_PROBE_FROM. */
const JITTER_PROBE_TICKS = 64;
const JITTER_PROBE_FROM = Date.UTC(2024, 0, 1);

const overlapSchema = knownEnum(OverlapPolicy, true);
const noteSchema = boundedString(1024);

/** A schedule id: a DNS label (1..63 of [a-z0-9-], a letter first, a letter or digit last). */
export function validateScheduleId(id: string, field: string): FieldViolation[] {
  if (!id) return [{ field, description: "required" }];
  if (ID_PATTERN.test(id)) return [];
  return [
    {
      field,
      description:
        "a DNS label: 1..63 characters of a-z, 0-9 and '-', starting with a letter and ending with a letter or digit",
    },
  ];
}

/**
 * The client's Schedule → its stored definition: only the client fields (id, spec, task, overlap,
 * catchup_window, paused, labels, note; output-only fields cleared), defaults filled (the task's as
 * SubmitTask fills them, overlap SKIP, catchup_window 60 s, trigger TRIGGER_SCHEDULE). Applying it to
 * its own result changes nothing. Every bad field at once: throws INVALID_ARGUMENT.
 */
export function validateDefinition(schedule: Schedule | undefined, field = "schedule"): Schedule {
  if (!schedule) throw invalidArgument([{ field, description: "required" }]);
  const violations: FieldViolation[] = [...validateScheduleId(schedule.id, `${field}.id`)];
  const spec = checkSpec(schedule.spec, `${field}.spec`, violations);
  const task = checkTask(schedule.task, `${field}.task`, violations);
  if (!overlapSchema.safeParse(schedule.overlap).success)
    violations.push({ field: `${field}.overlap`, description: "not an overlap policy" });
  const catchupMs = durationMs(schedule.catchupWindow) || DEFAULT_CATCHUP_MS;
  const catchupProblem = schedule.catchupWindow && durationProblem(schedule.catchupWindow, true);
  if (catchupProblem) violations.push({ field: `${field}.catchup_window`, description: catchupProblem });
  const labels = labelMap.safeParse(schedule.labels);
  if (!labels.success) violations.push(...violationsOf(labels.error, schedule.labels, `${field}.labels`));
  const note = noteSchema.safeParse(schedule.note);
  if (!note.success) violations.push(...violationsOf(note.error, schedule.note, `${field}.note`));
  if (violations.length > 0) throw invalidArgument(violations);
  return {
    id: schedule.id,
    spec,
    task,
    overlap: schedule.overlap || OverlapPolicy.OVERLAP_POLICY_SKIP,
    catchupWindow: msDuration(catchupMs),
    paused: schedule.paused,
    labels: { ...schedule.labels },
    note: schedule.note,
    status: undefined,
    createTime: undefined,
    updateTime: undefined,
    generation: 0,
  };
}

/**
 * Why a Duration is not a positive span of 1 s .. 366 days (zero allowed when `zeroAllowed`), or
 * undefined. Fractions of a millisecond are refused only where wholeMs (the interval's ticks are ms).
 */
function durationProblem(d: Duration, zeroAllowed: boolean, wholeMs = false): string | undefined {
  if (d.seconds < 0 || d.nanos < 0) return "must not be negative";
  if (d.nanos >= 1e9) return "nanos must be below 1e9";
  if (wholeMs && d.nanos % 1e6 !== 0) return "must be whole milliseconds";
  const ms = durationMs(d)!;
  if (ms === 0 && zeroAllowed) return undefined;
  if (ms < SECOND_MS || ms > MAX_SPAN_MS) return "must be between 1s and 366d";
  return undefined;
}

/** The stored spec: undefined for a named definition. time_zone is refused without cron (it would mean nothing). */
function checkSpec(spec: ScheduleSpec | undefined, field: string, out: FieldViolation[]): ScheduleSpec | undefined {
  if (!spec) return undefined;
  const timed = spec.cron !== "" || spec.interval !== undefined;
  let gapMs: number | null | undefined; // the shortest time between two ticks, when known
  if (spec.cron && spec.interval) out.push({ field, description: "set at most one of cron and interval" });
  const zoneProblem = spec.timeZone ? timeZoneProblem(spec.timeZone) : undefined;
  if (spec.timeZone && !spec.cron) out.push({ field: `${field}.time_zone`, description: "only with cron" });
  else if (zoneProblem) out.push({ field: `${field}.time_zone`, description: zoneProblem });
  if (spec.cron) {
    const problem = cronProblem(spec.cron);
    if (problem) out.push({ field: `${field}.cron`, description: problem });
    else if (!zoneProblem) {
      gapMs = shortestCronGap(spec.cron, spec.timeZone, spec.startTime?.getTime() ?? JITTER_PROBE_FROM);
      if (gapMs === null)
        out.push({ field: `${field}.cron`, description: "never fires: no date matches it (e.g. 30 February)" });
    }
  }
  if (spec.interval) {
    const problem = durationProblem(spec.interval, false, true);
    if (problem) out.push({ field: `${field}.interval`, description: problem });
    else gapMs = durationMs(spec.interval);
  }
  for (const [name, date] of [
    ["start_time", spec.startTime],
    ["end_time", spec.endTime],
  ] as const) {
    if (!date) continue;
    if (!timed) out.push({ field: `${field}.${name}`, description: "only with cron or interval" });
    const valid = validDate.safeParse(date);
    if (!valid.success) out.push(...violationsOf(valid.error, date, `${field}.${name}`));
  }
  if (spec.startTime && spec.endTime && spec.startTime.getTime() >= spec.endTime.getTime())
    out.push({ field: `${field}.end_time`, description: "must be after start_time" });
  const jitter = spec.jitter && durationMs(spec.jitter) !== 0 ? spec.jitter : undefined;
  if (jitter) {
    const ms = durationMs(jitter)!;
    if (!timed) out.push({ field: `${field}.jitter`, description: "only with cron or interval" });
    else if (jitter.seconds < 0 || jitter.nanos < 0)
      out.push({ field: `${field}.jitter`, description: "must not be negative" });
    else if (ms > MAX_JITTER_MS) out.push({ field: `${field}.jitter`, description: "must be at most 24h" });
    else if (gapMs && ms >= gapMs)
      out.push({ field: `${field}.jitter`, description: `must be less than the time between two ticks (${gapMs} ms)` });
  }
  if (!timed) return undefined;
  return {
    cron: spec.cron,
    interval: spec.interval,
    timeZone: spec.timeZone,
    jitter,
    startTime: spec.startTime,
    endTime: spec.endTime,
  };
}

/** The shortest gap among the first JITTER_PROBE_TICKS ticks from fromMs; null when it never fires. */
function shortestCronGap(pattern: string, timeZone: string, fromMs: number): number | null {
  const cron = compileCron(pattern, timeZone);
  let previous = cron.nextRun(new Date(fromMs - 1));
  if (!previous) return null;
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < JITTER_PROBE_TICKS; i++) {
    const tick = cron.nextRun(previous);
    if (!tick) break;
    shortest = Math.min(shortest, tick.getTime() - previous.getTime());
    previous = tick;
  }
  return shortest;
}

/**
 * The template, validated as SubmitTask validates a spec (the same schema, size limit and
 * defaults; fields renamed from `spec.` to `<field>.`), plus what a schedule reserves: the trigger,
 * scheduled_by and the supervisor.dev/ labels. The stored trigger is TRIGGER_SCHEDULE, what fires get.
 */
function checkTask(task: TaskSpec | undefined, field: string, out: FieldViolation[]): TaskSpec | undefined {
  if (!task) {
    out.push({ field, description: "required" });
    return undefined;
  }
  const own: FieldViolation[] = [];
  if (task.scheduledBy) own.push({ field: `${field}.scheduled_by`, description: "set by the schedule on each fire" });
  if (task.trigger !== Trigger.TRIGGER_UNSPECIFIED && task.trigger !== Trigger.TRIGGER_SCHEDULE)
    own.push({
      field: `${field}.trigger`,
      description: "set by the schedule (TRIGGER_SCHEDULE): leave it unspecified",
    });
  const keys = Object.keys(task.labels);
  if (keys.length > MAX_TEMPLATE_LABELS)
    own.push({
      field: `${field}.labels`,
      description: `at most ${MAX_TEMPLATE_LABELS} labels: each fired task gets two more`,
    });
  const reserved = keys.filter((key) => key.startsWith(RESERVED_LABEL_PREFIX));
  if (reserved.length > 0)
    own.push({
      field: `${field}.labels`,
      description: `keys under ${RESERVED_LABEL_PREFIX} are set by the schedule: ${reserved.join(", ")}`,
    });
  let valid: TaskSpec | undefined;
  try {
    valid = validateSubmit({ spec: task, requestId: "" }).spec;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    own.push(...error.violations.map((v) => ({ ...v, field: v.field.replace(/^spec/, field) })));
  }
  const seen = new Set<string>();
  out.push(...own.filter((v) => !seen.has(v.field) && seen.add(v.field)));
  return valid && { ...valid, trigger: Trigger.TRIGGER_SCHEDULE };
}
