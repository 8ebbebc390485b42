/*
 * What a runner reports about its runs beyond the outcome: a link to external logs, the init step that
 * failed, a retry-after. Runners are not clients: a value that does not hold is dropped (and logged), never a reason to
 * fail the run or the connection.
 */

/** Run.log_url's bound (run.proto). */
export const MAX_LOG_URL_CHARS = 2048;
/** TaskSpec.init's bound (task.proto). */
export const MAX_INIT_STEPS = 16;

/** Why `url` cannot be a run's log URL, or undefined when it can: an absolute http(s) URL within the bound. */
export function logUrlProblem(url: string): string | undefined {
  if (url.length > MAX_LOG_URL_CHARS) return `longer than ${MAX_LOG_URL_CHARS} characters (${url.length})`;
  // WHATWG parsing strips some whitespace and control characters silently; a link shown to people must not hide any.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return "holds whitespace or control characters";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not an absolute URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    return `scheme ${parsed.protocol} is not http or https`;
  return undefined;
}

/**
 * The log URL a runner reported, if it holds; a bad one is dropped with a log line naming the run.
 * Undefined or "" = none reported.
 */
export function acceptedLogUrl(
  url: string | undefined,
  runId: string,
  log: (message: string) => void,
): string | undefined {
  if (!url) return undefined;
  const problem = logUrlProblem(url);
  if (!problem) return url;
  log(`run ${runId}: dropped the log_url its runner reported: ${problem}`);
  return undefined;
}

/** The failed init step a runner reported, if it can be one (1..16); else dropped with a log line. */
export function acceptedInitStep(
  step: number | undefined,
  runId: string,
  log: (message: string) => void,
): number | undefined {
  if (step === undefined || step === 0) return undefined;
  if (Number.isInteger(step) && step >= 1 && step <= MAX_INIT_STEPS) return step;
  log(`run ${runId}: dropped the failed_init_step its runner reported: ${step} is not 1..${MAX_INIT_STEPS}`);
  return undefined;
}

/** RunFinished.retry_after's bound (runner_service.proto): 1 ms..24 h. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * The retry-after a runner reported, in whole ms, if it holds: 1 ms..24 h, with outcome FAILED (the only end
 * it goes with). Else it is dropped with a log line naming the run, and the run ends as it was reported: a
 * plain failure, counted as one. Undefined = none reported.
 */
export function acceptedRetryAfter(
  retryAfter: { seconds: number; nanos: number } | undefined,
  failed: boolean,
  runId: string,
  log: (message: string) => void,
): number | undefined {
  if (retryAfter === undefined) return undefined;
  const ms = retryAfter.seconds * 1000 + retryAfter.nanos / 1e6;
  const problem = !failed
    ? "it goes with outcome FAILED only"
    : !(ms >= 1 && ms <= MAX_RETRY_AFTER_MS)
      ? `${ms} ms is not 1 ms..24h`
      : undefined;
  if (!problem) return Math.ceil(ms);
  log(`run ${runId}: dropped the retry_after its runner reported: ${problem}`);
  return undefined;
}

/**
 * The keys a retry-after pauses: `named` alone when it is one of the task's rate-limit or concurrency keys (as
 * stored), all of them when none is named. A named key the task does not hold is dropped (`problem` says why,
 * for the log): then no key is paused — only the task waits — rather than keys its runner did not name.
 */
export function retryAfterKeys(
  spec: { rateLimits?: readonly { key: string }[]; concurrency?: readonly { key: string }[] } | undefined,
  named: string | undefined,
): { keys: string[]; problem?: string } {
  const held = [...new Set([...(spec?.rateLimits ?? []), ...(spec?.concurrency ?? [])].map(({ key }) => key))];
  if (!named) return { keys: held };
  if (held.includes(named)) return { keys: [named] };
  return {
    keys: [],
    problem:
      `retry_after_key ${JSON.stringify(named.slice(0, 300))} is not one of the task's rate-limit or concurrency ` +
      `keys (${held.length > 0 ? held.join(", ") : "it has none"}); only the task waits`,
  };
}
