/*
 * What a runner reports about its runs beyond the outcome: a link to external logs, the init step that
 * failed. Runners are not clients: a value that does not hold is dropped (and logged), never a reason to
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
