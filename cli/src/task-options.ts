import {
  AdmissionPolicy,
  DEFAULT_TIMEOUT_MS,
  Placement,
  RestartPolicy,
  runnerSelector,
  type SpecOptions,
  SubprocessExec,
  type TaskSpec,
} from "@supervisor/sdk";
import { type Command, Option } from "commander";
import { usageError } from "./command-line.js";
import { CommandFailure } from "./exit.js";
import {
  concurrencyKey,
  durationMs,
  initStep,
  integer,
  keyValue,
  type RateLimitFlag,
  rateLimit,
  selectorText,
} from "./parsers.js";

/*
 * The flags that describe a task — what `submit` sends and what a schedule
 * fires — defined once, so `submit` and `schedule create|update` read them
 * the same way.
 */

export const RESTART = {
  never: RestartPolicy.RESTART_POLICY_NEVER,
  "on-failure": RestartPolicy.RESTART_POLICY_ON_FAILURE,
  always: RestartPolicy.RESTART_POLICY_ALWAYS,
};
export const ADMISSION = {
  drop: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
  queue: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
  replace: AdmissionPolicy.ADMISSION_POLICY_REPLACE,
};

export interface TaskOptions {
  slot?: string;
  label?: Record<string, string>;
  selector?: string;
  timeout?: number;
  restart?: keyof typeof RESTART;
  maxAttempts?: number;
  admission?: keyof typeof ADMISSION;
  priority?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Init steps, each an argv (--init, repeatable). */
  init?: string[][];
  eachRunner?: boolean;
  fanOutWindow?: number;
  maxFailed?: number;
  pin?: string;
  concurrency?: { key: string; maxRunning: number }[];
  rateLimit?: RateLimitFlag[];
  fairnessKey?: string;
  fairnessWeight?: number;
}

/** The option names (as commander keeps them) of the task flags. */
export const TASK_OPTION_NAMES = [
  "slot",
  "admission",
  "label",
  "selector",
  "timeout",
  "restart",
  "maxAttempts",
  "priority",
  "env",
  "cwd",
  "init",
  "eachRunner",
  "fanOutWindow",
  "maxFailed",
  "pin",
  "concurrency",
  "rateLimit",
  "fairnessKey",
  "fairnessWeight",
] as const satisfies readonly (keyof TaskOptions)[];

/** A flag the user typed (not a default). */
export const given = (command: Command, name: string) => {
  const source = command.getOptionValueSource(name);
  return source !== undefined && source !== "default";
};

/**
 * --slot, --admission, --label, --selector, --timeout, --restart,
 * --max-attempts, --priority, --env, --cwd, --init. Without `defaults` (an update)
 * a flag left out stays undefined, so only what was typed changes.
 */
export function addTaskOptions(command: Command, { defaults = true } = {}): Command {
  const withDefault = (option: Option, value: unknown, description?: string) =>
    defaults ? option.default(value, description) : option;
  return command
    .option("--slot <slot>", "admission slot: at most one active task per slot")
    .addOption(
      withDefault(
        new Option("--admission <policy>", "when the slot is busy (needs --slot)").choices(Object.keys(ADMISSION)),
        "drop",
      ),
    )
    .option("--label <key=value>", "task label (repeatable)", keyValue("--label"))
    .option("--selector <selector>", 'runners that may take it, e.g. "gpu,zone in (a,b)"', selectorText)
    .addOption(
      withDefault(
        new Option("--timeout <duration>", "per attempt, e.g. 30s, 5m, 1h30m").argParser(durationMs),
        DEFAULT_TIMEOUT_MS,
        "60s",
      ),
    )
    .addOption(
      withDefault(
        new Option("--restart <policy>", "restart policy (on-failure when --max-attempts is given)").choices(
          Object.keys(RESTART),
        ),
        "never",
      ),
    )
    .option(
      "--max-attempts <n>",
      "attempts in all (without it: 3 with on-failure, unlimited with always)",
      integer(1, 1000),
    )
    .addOption(
      withDefault(new Option("--priority <n>", "higher runs first").argParser(integer(-(2 ** 31), 2 ** 31 - 1)), 0),
    )
    .option("--env <key=value>", "environment variable for the program (repeatable)", keyValue("--env"))
    .option("--cwd <dir>", "working directory on the runner")
    .option(
      "--init <step>",
      'a program to run first, with --env and --cwd (repeatable, in order): "mkdir -p out" or a JSON argv array',
      initStep,
    )
    .option("--each-runner", "fan out: one child task per matching runner (docs/concepts/fan-out.md)")
    .option(
      "--fan-out-window <duration>",
      "with --each-runner: runners that connect this long after the submit get a child too",
      durationMs,
    )
    .option(
      "--max-failed <n>",
      "with --each-runner: children that may fail with the task still succeeding",
      integer(0, 100_000),
    )
    .option("--pin <runner-id>", "run only on this runner (its id, as `supervisor runners` lists it)")
    .option(
      "--concurrency <key=max>",
      "at most max tasks holding the key run at once, e.g. tenant-{labels.tenant}=5 (repeatable)",
      concurrencyKey,
    )
    .option(
      "--rate-limit <key=N/s[:burst]>",
      "a token bucket on the key: N/s or N/min, burst after a quiet spell (default 1), e.g. vendor=10/s:20; " +
        "the key alone takes the server's rate (repeatable)",
      rateLimit,
    )
    .option(
      "--fairness-key <key>",
      "take turns with other keys' tasks waiting for the same runners, e.g. tenant-{labels.tenant}",
    )
    .option("--fairness-weight <n>", "with --fairness-key: the key's share relative to other keys", integer(1, 1000));
}

/** Task flags that contradict each other are refused here, before anything is sent. */
export function checkTaskFlags(command: Command, options: TaskOptions, { admissionNeedsSlot = true } = {}): void {
  if (options.maxAttempts !== undefined && given(command, "restart") && options.restart === "never")
    usageError(
      command,
      `--max-attempts ${options.maxAttempts} with --restart never: a task that is never restarted runs once; ` +
        "use --restart on-failure (or always)",
    );
  for (const flag of ["fanOutWindow", "maxFailed"] as const) {
    if (options[flag] !== undefined && !options.eachRunner)
      usageError(command, `--${flag === "maxFailed" ? "max-failed" : "fan-out-window"} needs --each-runner`);
  }
  if (options.eachRunner && options.pin)
    usageError(command, "--pin and --each-runner: a fan-out pins each of its children to its runner itself");
  if (options.fairnessWeight !== undefined && !options.fairnessKey)
    usageError(command, "--fairness-weight is the share of a fairness key: it needs --fairness-key");
  if (admissionNeedsSlot && given(command, "admission") && !options.slot)
    usageError(command, "--admission decides what happens when the task's slot is busy: it needs --slot");
}

/** --max-attempts alone means on-failure: a task that is never restarted has one attempt. */
function restartOf(command: Command, options: TaskOptions): keyof typeof RESTART | undefined {
  if (options.maxAttempts !== undefined && !given(command, "restart")) return "on-failure";
  return options.restart;
}

/** The init steps from --init: each runs with the task's environment and working directory, as the main program. */
const initSpecs = (steps: string[][], env: Record<string, string>, workingDir: string): SubprocessExec[] =>
  steps.map(([command, ...args]) => ({ command: command!, args, env, workingDir }));

const protoDuration = (ms: number) => ({ seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** The spec options of `subprocess(command, args, …)` from the task flags (with their defaults). */
export function taskSpecOptions(
  command: Command,
  options: TaskOptions,
): SpecOptions & { env: Record<string, string>; workingDir: string } {
  const restart = restartOf(command, options) ?? "never";
  return {
    init: initSpecs(options.init ?? [], options.env ?? {}, options.cwd ?? ""),
    env: options.env ?? {},
    workingDir: options.cwd ?? "",
    slot: options.slot ?? "",
    admission: ADMISSION[options.admission ?? "drop"],
    labels: options.label ?? {},
    runnerSelector: options.selector ? runnerSelector(options.selector) : undefined,
    timeout: protoDuration(options.timeout ?? DEFAULT_TIMEOUT_MS),
    restart: RESTART[restart],
    maxAttempts: restart === "never" ? 0 : (options.maxAttempts ?? 0),
    priority: options.priority ?? 0,
    placement: options.eachRunner ? Placement.PLACEMENT_EACH_MATCHING_RUNNER : Placement.PLACEMENT_UNSPECIFIED,
    fanOutWindow: options.fanOutWindow === undefined ? undefined : protoDuration(options.fanOutWindow),
    maxFailed: options.maxFailed ?? 0,
    pinnedRunnerId: options.pin ?? "",
    concurrency: options.concurrency ?? [],
    rateLimits: options.rateLimit ?? [],
    fairness: fairnessOf(options),
  };
}

/** --fairness-key and --fairness-weight (0: the server's default of 1); no key, no fairness. */
const fairnessOf = (options: TaskOptions) =>
  options.fairnessKey ? { key: options.fairnessKey, weight: options.fairnessWeight ?? 0 } : undefined;

/** Whether any task flag, or a command, was given: an update then changes the task. */
export const changesTask = (command: Command, program: string | undefined) =>
  program !== undefined || TASK_OPTION_NAMES.some((name) => given(command, name));

/**
 * `current` with the task flags that were typed (and the command, if one was
 * given) applied; every other field is kept. --label and --env replace the
 * whole map, as on a submit.
 */
export function patchTaskSpec(
  current: TaskSpec,
  command: Command,
  options: TaskOptions,
  program?: { command: string; args: string[] },
): TaskSpec {
  const spec: TaskSpec = { ...current, labels: { ...current.labels } };
  if (program || given(command, "env") || given(command, "cwd")) {
    if (current.exec && current.exec.$case !== "subprocess" && !program)
      throw new CommandFailure(`--env and --cwd apply to a subprocess task; this one is ${current.exec.$case}`);
    const base = current.exec?.$case === "subprocess" ? current.exec.value : SubprocessExec.fromPartial({});
    spec.exec = {
      $case: "subprocess",
      value: {
        ...base,
        ...(program ? { command: program.command, args: program.args } : {}),
        ...(given(command, "env") ? { env: options.env ?? {} } : {}),
        ...(given(command, "cwd") ? { workingDir: options.cwd ?? "" } : {}),
      },
    };
  }
  if (given(command, "init")) {
    const main = spec.exec?.$case === "subprocess" ? spec.exec.value : undefined;
    spec.init = initSpecs(options.init ?? [], main?.env ?? options.env ?? {}, main?.workingDir ?? options.cwd ?? "");
  }
  if (given(command, "slot")) spec.slot = options.slot ?? "";
  if (given(command, "admission")) spec.admission = ADMISSION[options.admission!];
  if (given(command, "label")) spec.labels = options.label ?? {};
  if (given(command, "selector")) spec.runnerSelector = options.selector ? runnerSelector(options.selector) : undefined;
  if (given(command, "timeout")) spec.timeout = protoDuration(options.timeout!);
  if (given(command, "priority")) spec.priority = options.priority!;
  if (given(command, "eachRunner")) spec.placement = Placement.PLACEMENT_EACH_MATCHING_RUNNER;
  if (given(command, "fanOutWindow")) spec.fanOutWindow = protoDuration(options.fanOutWindow!);
  if (given(command, "maxFailed")) spec.maxFailed = options.maxFailed!;
  if (given(command, "pin")) spec.pinnedRunnerId = options.pin ?? "";
  if (given(command, "concurrency")) spec.concurrency = options.concurrency ?? [];
  if (given(command, "rateLimit")) spec.rateLimits = options.rateLimit ?? [];
  if (given(command, "fairnessKey")) spec.fairness = fairnessOf(options);
  const restart = restartOf(command, options);
  if (given(command, "restart") || given(command, "maxAttempts")) {
    const never = [RestartPolicy.RESTART_POLICY_NEVER, RestartPolicy.RESTART_POLICY_UNSPECIFIED];
    const keepsRestart = !given(command, "restart") && !never.includes(current.restart);
    spec.restart = keepsRestart ? current.restart : RESTART[restart!];
    if (never.includes(spec.restart)) spec.maxAttempts = 0;
    else if (given(command, "maxAttempts")) spec.maxAttempts = options.maxAttempts!;
  }
  return spec;
}
