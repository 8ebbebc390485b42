import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionResult } from "../executors/types.js";
import { MAX_RETRY_AFTER_MS } from "../retry-after.js";

/** The variable naming the file a program may write its retry-after to. */
export const RETRY_AFTER_FILE_ENV = "SUPERVISOR_RETRY_AFTER_FILE";

/** `retry-after <seconds> [key]`: seconds as HTTP's Retry-After has them (a decimal number allowed). */
const LINE = /^retry-after\s+(\d+(?:\.\d+)?)(?:\s+(\S+))?\s*$/;

/** The file's first line as a retry-after, or why it is not one. */
export function parseRetryAfterFile(text: string): { ms: number; key?: string } | { problem: string } {
  const line = text.split("\n", 1)[0]!.trim();
  const match = LINE.exec(line);
  if (!match) return { problem: `${JSON.stringify(line.slice(0, 200))} is not "retry-after <seconds> [key]"` };
  const ms = Math.ceil(Number(match[1]) * 1000);
  if (!(ms >= 1 && ms <= MAX_RETRY_AFTER_MS)) return { problem: `${match[1]} s is not 1 ms..24h` };
  return match[2] ? { ms, key: match[2] } : { ms };
}

/**
 * Runs a program with $SUPERVISOR_RETRY_AFTER_FILE naming a file in a fresh private directory. A program that
 * fails (exits non-zero) after writing `retry-after <seconds> [key]` to it asks, like an embedded handler's
 * RetryAfter, to be deferred: the run is reported with retry_after (and retry_after_key). A file that does not
 * hold one is ignored, and `log` says why. The directory goes with the run.
 */
export async function withRetryAfterFile(
  run: (env: Record<string, string>) => Promise<ExecutionResult>,
  log: (line: string) => void,
): Promise<ExecutionResult> {
  const dir = await mkdtemp(join(tmpdir(), "supervisor-run-"));
  const file = join(dir, "retry-after");
  try {
    const result = await run({ [RETRY_AFTER_FILE_ENV]: file });
    if (result.outcome !== "failed") return result;
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) return result;
    const parsed = parseRetryAfterFile(text);
    if ("problem" in parsed) {
      log(`ignored the program's ${RETRY_AFTER_FILE_ENV}: ${parsed.problem}`);
      return result;
    }
    return { ...result, retryAfterMs: parsed.ms, retryAfterKey: parsed.key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
