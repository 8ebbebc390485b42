import {
  type CreateScheduleRequest,
  OverlapPolicy,
  Schedule,
  type ScheduleSpec,
  subprocess,
  type TaskSpec,
  type TriggerOptions,
  type UpdateScheduleRequest,
} from "@supervisor/sdk";
import { type Command, InvalidArgumentError, Option } from "commander";
import { usageError } from "./command-line.js";
import { durationMs, keyValue, timeOrDuration } from "./parsers.js";
import {
  changesTask,
  checkTaskFlags,
  given,
  patchTaskSpec,
  type TaskOptions,
  taskSpecOptions,
} from "./task-options.js";

/*
 * The flags of `schedule create|update|trigger` and the requests they make:
 * pure functions of the parsed command line, so that the mapping is tested
 * without a server.
 */

export const OVERLAP = {
  skip: OverlapPolicy.OVERLAP_POLICY_SKIP,
  "buffer-one": OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE,
  "allow-all": OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
  "cancel-other": OverlapPolicy.OVERLAP_POLICY_CANCEL_OTHER,
};

export interface ScheduleOptions extends TaskOptions {
  cron?: string;
  every?: number;
  onDemand?: boolean;
  tz?: string;
  overlap?: keyof typeof OVERLAP;
  catchup?: number;
  jitter?: number;
  start?: Date;
  end?: Date;
  paused?: boolean;
  note?: string;
  scheduleLabel?: Record<string, string>;
}

/** 5 or 6 fields, or a nickname: the shape is checked here, the fields by the server (with croner's explanation). */
export function cronText(text: string): string {
  const trimmed = text.trim();
  const fields = trimmed.split(/\s+/).length;
  if (/^@[a-z]+$/.test(trimmed) || fields === 5 || fields === 6) return trimmed;
  throw new InvalidArgumentError(
    `Expected 5 fields (minute hour day-of-month month day-of-week), 6 (seconds first) or a nickname ` +
      `such as @daily; got ${fields} field${fields === 1 ? "" : "s"}.`,
  );
}

/** An IANA time zone this Node.js knows (the server's parser uses the same Intl data). */
export function timeZone(text: string): string {
  try {
    new Intl.DateTimeFormat("en", { timeZone: text });
    return text;
  } catch {
    throw new InvalidArgumentError(
      `Unknown time zone ${JSON.stringify(text)}; expected an IANA name such as Europe/Berlin.`,
    );
  }
}

/** The schedule flags (--cron, --every, --tz, --overlap, ...); create adds --paused, update --on-demand. */
export function addScheduleOptions(command: Command, { update = false } = {}): Command {
  command
    .option(
      "--cron <expr>",
      'a cron expression: 5 fields, 6 (seconds first) or @daily etc., e.g. "0 3 * * *"',
      cronText,
    )
    .option("--every <duration>", "fire at this interval instead, e.g. 30s, 5m, 1h30m", durationMs);
  if (update) command.option("--on-demand", "neither cron nor interval: fired only by `schedule trigger`");
  command
    .option("--tz <zone>", "IANA time zone of --cron, e.g. Europe/Berlin (default UTC)", timeZone)
    .addOption(
      new Option("--overlap <policy>", "when the task fired before is still active (default skip)").choices(
        Object.keys(OVERLAP),
      ),
    )
    .option("--catchup <duration>", "how late a tick may still fire, e.g. after a restart (default 60s)", durationMs)
    .option("--jitter <duration>", "delay each fired task by up to this much (the same delay for a tick)", durationMs)
    .option("--start <time>", "no tick before this: an RFC 3339 time, or a duration from now", timeOrDuration("ahead"))
    .option("--end <time>", "no tick after this: an RFC 3339 time, or a duration from now", timeOrDuration("ahead"));
  if (!update) command.option("--paused", "create it paused");
  return command
    .option("--note <text>", "free text kept with the schedule")
    .option(
      "-l, --schedule-label <key=value>",
      "label of the schedule itself (repeatable)",
      keyValue("--schedule-label"),
    );
}

const protoDuration = (ms: number) => ({ seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** Schedule flags that contradict each other are refused before anything is sent. */
export function checkScheduleFlags(command: Command, options: ScheduleOptions, update: boolean): void {
  const when = (["cron", "every", "onDemand"] as const).filter((name) => options[name] !== undefined);
  const flag = (name: string) => (name === "onDemand" ? "--on-demand" : `--${name}`);
  if (when.length > 1) usageError(command, `${when.map(flag).join(" and ")} each say when it fires: give one`);
  if (!update && options.tz !== undefined && options.cron === undefined)
    usageError(command, "--tz is the time zone of --cron: it needs --cron");
  if (options.start && options.end && options.end.getTime() <= options.start.getTime())
    usageError(command, "--end must be after --start");
  const allowAll = options.overlap === "allow-all";
  if (given(command, "admission") && !allowAll && (!update || options.overlap !== undefined))
    usageError(
      command,
      "--overlap sets the admission of the fired tasks; --admission applies only with --overlap allow-all",
    );
  checkTaskFlags(command, options);
}

/** The ScheduleSpec of the when-flags; undefined with neither --cron nor --every (a named definition). */
function specOf(options: ScheduleOptions): ScheduleSpec | undefined {
  if (options.cron === undefined && options.every === undefined) return undefined;
  return {
    cron: options.cron ?? "",
    interval: options.every === undefined ? undefined : protoDuration(options.every),
    timeZone: options.tz ?? "",
    jitter: options.jitter === undefined ? undefined : protoDuration(options.jitter),
    startTime: options.start,
    endTime: options.end,
  };
}

/** `schedule create <id> [flags] -- command args…` → CreateScheduleRequest. */
export function createRequest(
  command: Command,
  id: string,
  program: { command: string; args: string[] },
  options: ScheduleOptions,
): CreateScheduleRequest {
  checkScheduleFlags(command, options, false);
  const spec = specOf(options);
  if (!spec && (options.jitter !== undefined || options.start || options.end))
    usageError(command, "--jitter, --start and --end shape the ticks of --cron or --every: give one of those");
  // The server sets the fired tasks' trigger (TRIGGER_SCHEDULE); the template leaves it out.
  const task = subprocess(program.command, program.args, taskSpecOptions(command, options));
  return {
    schedule: Schedule.fromPartial({
      id,
      spec,
      task,
      overlap: OVERLAP[options.overlap ?? "skip"],
      catchupWindow: options.catchup === undefined ? undefined : protoDuration(options.catchup),
      paused: options.paused ?? false,
      labels: options.scheduleLabel ?? {},
      note: options.note ?? "",
    }),
  };
}

/**
 * `schedule update <id> [flags] [-- command args…]` → UpdateScheduleRequest
 * whose update_mask names exactly the fields of the flags given. `current`
 * is the stored template, needed when a task flag was given (the template is
 * one path: it is sent whole, with only the typed flags changed).
 */
export function updateRequest(
  command: Command,
  id: string,
  options: ScheduleOptions,
  program?: { command: string; args: string[] },
  currentTask?: TaskSpec,
): UpdateScheduleRequest {
  checkScheduleFlags(command, options, true);
  const schedule = Schedule.fromPartial({ id, spec: {} });
  const spec = schedule.spec!;
  const mask: string[] = [];
  if (options.cron !== undefined || options.every !== undefined || options.onDemand) {
    // cron and interval exclude each other: setting one clears the other.
    spec.cron = options.cron ?? "";
    spec.interval = options.every === undefined ? undefined : protoDuration(options.every);
    mask.push("spec.cron", "spec.interval");
  }
  const set = (path: string, given: unknown, apply: () => void) => {
    if (given === undefined) return;
    apply();
    mask.push(path);
  };
  set("spec.time_zone", options.tz, () => (spec.timeZone = options.tz!));
  set("spec.jitter", options.jitter, () => (spec.jitter = protoDuration(options.jitter!)));
  set("spec.start_time", options.start, () => (spec.startTime = options.start));
  set("spec.end_time", options.end, () => (spec.endTime = options.end));
  set("overlap", options.overlap, () => (schedule.overlap = OVERLAP[options.overlap!]));
  set("catchup_window", options.catchup, () => (schedule.catchupWindow = protoDuration(options.catchup!)));
  set("note", options.note, () => (schedule.note = options.note!));
  set("labels", options.scheduleLabel, () => (schedule.labels = options.scheduleLabel!));
  if (changesTask(command, program?.command)) {
    if (!currentTask) throw new Error("updateRequest: a task flag was given; pass the stored template");
    schedule.task = patchTaskSpec(currentTask, command, options, program);
    mask.push("task");
  }
  if (mask.length === 0)
    usageError(command, "nothing to change: give a flag (--cron, --every, --overlap, --note, a task flag, ...)");
  return { schedule, updateMask: mask };
}

export interface TriggerFlags {
  arg?: string[];
  clearArgs?: boolean;
  env?: Record<string, string>;
  label?: Record<string, string>;
  payload?: Record<string, unknown>;
  requestId?: string;
}

/** --arg (repeatable) replaces the args; --env and --label are added to the template's; --payload replaces it. */
export function triggerOptions(command: Command, flags: TriggerFlags): TriggerOptions {
  if (flags.clearArgs && flags.arg) usageError(command, "--clear-args and --arg both set the args: give one");
  const replaceArgs = flags.arg !== undefined || flags.clearArgs === true;
  const changed = replaceArgs || flags.env || flags.label || flags.payload;
  return {
    requestId: flags.requestId,
    overrides: changed
      ? {
          args: flags.arg ?? [],
          replaceArgs,
          env: flags.env ?? {},
          labels: flags.label ?? {},
          payload: flags.payload,
        }
      : undefined,
  };
}

/** `--payload '{"n": 1}'`: a JSON object. */
export function jsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`Expected a JSON object: ${(error as Error).message}.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidArgumentError('Expected a JSON object, such as {"n": 1}.');
  return value as Record<string, unknown>;
}

/** `--arg x` repeated, in order. */
export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
