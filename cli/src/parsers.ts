import {
  DurationSyntaxError,
  parseDurationMs,
  parseLabelSelector,
  SelectorSyntaxError,
  TaskPhase,
  taskPhaseFromJSON,
} from "@supervisor/sdk";
import { InvalidArgumentError } from "commander";

/*
 * Option parsers: each refuses a bad value with InvalidArgumentError, which
 * commander turns into a usage mistake naming the flag and the value (exit 2),
 * before any call is made.
 */

/** A whole number within [min, max]. */
export const integer =
  (min: number, max: number) =>
  (text: string): number => {
    const value = /^\s*-?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    return value;
  };

/** A duration in the one syntax (500ms, 30s, 1h30m, 7d), as milliseconds. */
export function durationMs(text: string): number {
  try {
    return parseDurationMs(text);
  } catch (error) {
    if (error instanceof DurationSyntaxError) throw new InvalidArgumentError(`${capitalize(error.message)}.`);
    throw error;
  }
}

const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time ("2030-01-02T03:04:05Z"), or a duration from now ("10m"). */
export const timeOrDuration =
  (direction: "ahead" | "ago") =>
  (text: string): Date => {
    if (RFC_3339.test(text.trim())) {
      const time = new Date(text.trim());
      if (!Number.isNaN(time.getTime())) return time;
    }
    try {
      const ms = parseDurationMs(text);
      return new Date(Date.now() + (direction === "ahead" ? ms : -ms));
    } catch {
      throw new InvalidArgumentError(
        "Expected an RFC 3339 time such as 2030-01-02T03:04:05Z, or a duration such as 30s, 10m or 1h30m.",
      );
    }
  };

/** `--label k=v` (repeatable) into a map; `flag` names it in the message. */
export const keyValue =
  (flag: string) =>
  (value: string, previous: Record<string, string> | undefined): Record<string, string> => {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`${flag} takes key=value.`);
    return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
  };

/**
 * --concurrency key=max (repeatable): a concurrency key (templated from labels as `tenant-{labels.tenant}`)
 * and the most tasks holding it that may run at once (0 = the server's limit for the key).
 */
export function concurrencyKey(
  value: string,
  previous: { key: string; maxRunning: number }[] | undefined,
): { key: string; maxRunning: number }[] {
  const eq = value.lastIndexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("--concurrency takes key=max, e.g. tenant-{labels.tenant}=5.");
  const maxRunning = integer(0, 1_000_000)(value.slice(eq + 1));
  return [...(previous ?? []), { key: value.slice(0, eq), maxRunning }];
}

/** One --rate-limit: a key and its rate (zero both for the server's rate for the key) and burst (0 = 1). */
export interface RateLimitFlag {
  key: string;
  perSecond: number;
  perMinute: number;
  burst: number;
}

const RATE = /^(\d+(?:\.\d+)?)\/(s|sec|second|m|min|minute)(?::(\d+))?$/;

/**
 * --rate-limit key=N/s[:burst] or key=N/min[:burst] (repeatable): a token bucket on the key (templated from
 * labels as `tenant-{labels.tenant}`); `key` alone takes the server's rate for it (config rateLimits).
 */
export function rateLimit(value: string, previous: RateLimitFlag[] | undefined): RateLimitFlag[] {
  const eq = value.indexOf("=");
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === "") throw new InvalidArgumentError("--rate-limit takes key=N/s[:burst] or key=N/min[:burst].");
  if (eq < 0) return [...(previous ?? []), { key, perSecond: 0, perMinute: 0, burst: 0 }];
  const match = RATE.exec(value.slice(eq + 1).trim());
  const rate = match ? Number(match[1]) : 0;
  if (!match || !(rate > 0)) {
    throw new InvalidArgumentError(
      "--rate-limit takes key=N/s[:burst] or key=N/min[:burst], e.g. vendor=10/s:20 or tenant-{labels.tenant}=600/min.",
    );
  }
  const perSecond = match[2]!.startsWith("s") ? rate : 0;
  const burst = match[3] === undefined ? 0 : integer(1, 100_000)(match[3]);
  return [...(previous ?? []), { key, perSecond, perMinute: perSecond ? 0 : rate, burst }];
}

/** A Kubernetes label selector, checked here so that a typo is a usage mistake, not a server round trip. */
export function selectorText(text: string): string {
  try {
    parseLabelSelector(text);
    return text;
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new InvalidArgumentError(`${capitalize(error.message)}.`);
    throw error;
  }
}

/** "pending,running" → [TASK_PHASE_PENDING, TASK_PHASE_RUNNING]. */
export function phases(text: string): TaskPhase[] {
  return text.split(",").map((name) => {
    const phase = taskPhaseFromJSON(`TASK_PHASE_${name.trim().toUpperCase()}`);
    if (phase === TaskPhase.UNRECOGNIZED || phase === TaskPhase.TASK_PHASE_UNSPECIFIED)
      throw new InvalidArgumentError(
        `Unknown phase ${JSON.stringify(name)}; phases are pending, running, succeeded, failed, timeout, ` +
          "canceled, exhausted.",
      );
    return phase;
  });
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * `--init <step>` (repeatable) into argv lists, in order. A step is a command and its arguments, never
 * a shell: split on whitespace (`"mkdir -p /tmp/work"`), or a JSON array of strings for arguments that hold
 * spaces (`'["sh", "-c", "echo ready > /tmp/flag"]'`).
 */
export function initStep(value: string, previous: string[][] = []): string[][] {
  const text = value.trim();
  let argv: unknown;
  if (text.startsWith("[")) {
    try {
      argv = JSON.parse(text);
    } catch {
      throw new InvalidArgumentError('Expected a JSON array of strings, e.g. ["sh", "-c", "echo hi"].');
    }
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((word) => typeof word === "string" && word))
      throw new InvalidArgumentError('Expected a JSON array of non-empty strings, e.g. ["sh", "-c", "echo hi"].');
  } else {
    argv = text.split(/\s+/).filter(Boolean);
    if ((argv as string[]).length === 0) throw new InvalidArgumentError("Expected a command, e.g. mkdir -p /tmp/work.");
  }
  return [...previous, argv as string[]];
}
