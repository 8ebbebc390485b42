import parseDuration from "parse-duration";

/**
 * The one duration syntax of the CLI, the server's settings and the SDK's
 * `duration()`: a number and a unit, repeated: "500ms", "15s", "1.5m", "24h",
 * "7d", "2w", "1h30m". parse-duration does the arithmetic; this grammar comes
 * first because the library is lenient (it reads "5 apples" as 5 ms, "-3s"
 * as negative and "soon" as nothing), and a duration a person typed wrong
 * must be refused, not guessed.
 */
const TERM = String.raw`\d+(?:\.\d+)?(?:ms|s|m|h|d|w)`;
const DURATION = new RegExp(`^(?:${TERM})+$`);
const BARE_NUMBER = /^\d+$/;

export const DURATION_EXAMPLES = "500ms, 15s, 1.5m, 1h30m, 24h or 7d";

/** A duration that does not parse; the message says what was given and what would do. */
export class DurationSyntaxError extends Error {
  override readonly name = "DurationSyntaxError";
}

export interface DurationParseOptions {
  /** Read a bare whole number as milliseconds (server settings do; a flag needs a unit). */
  bareNumberIsMs?: boolean;
}

/** Parses a duration into whole milliseconds (rounded); throws DurationSyntaxError on anything else. */
export function parseDurationMs(text: string | number, options: DurationParseOptions = {}): number {
  if (typeof text === "number") {
    if (options.bareNumberIsMs && Number.isFinite(text) && text >= 0) return Math.round(text);
    throw new DurationSyntaxError(`expected a duration such as ${DURATION_EXAMPLES}; got ${text}`);
  }
  const trimmed = text.trim();
  if (options.bareNumberIsMs && BARE_NUMBER.test(trimmed)) return Number(trimmed);
  const ms = DURATION.test(trimmed) ? parseDuration(trimmed) : null;
  if (ms === null || !Number.isFinite(ms)) {
    const hint = BARE_NUMBER.test(trimmed) ? ` (add a unit: ${trimmed}s, ${trimmed}ms, ...)` : "";
    throw new DurationSyntaxError(
      `expected a duration such as ${DURATION_EXAMPLES}; got ${JSON.stringify(text)}${hint}`,
    );
  }
  return Math.round(ms);
}

const UNIT_MS: readonly [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/** Formats ms the way parseDurationMs reads it, in the largest whole unit ("15s", "7d", "250ms"). */
export function formatDurationMs(ms: number): string {
  for (const [unit, size] of UNIT_MS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
