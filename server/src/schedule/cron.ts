import { Cron } from "croner";

/**
 * The one place croner is configured. `5-or-6-parts`: the contract allows 5 fields or 6 (seconds
 * first), never croner's 7th (year) field; nicknames (@hourly, @daily/@midnight, @weekly, @monthly,
 * @yearly/@annually) expand to 5 fields. `no-wildcard`: every cron whose seconds, minutes and hours
 * have no `*` or step (`30 2 * * *`, also `30 2,14 * * *`) is a fixed-time job, which croner fires
 * once at the jump when DST skips its local time and once, the first time, when DST repeats it —
 * the contract's rule. A cron with a wildcard or step in those fields (`*\/30 * * * *`) follows
 * croner's Vixie-cron rule instead: skipped times are skipped, repeated ones run twice (the job
 * keeps its pace in real time); test/unit/schedule-timetable.test.ts pins both.
 * No function is given, so croner starts no timers: it only computes times. UTC is given as a
 * zero offset, not as a zone: croner then computes without Intl, ≈ 20 times faster per tick (and
 * without either it would use the process's local zone).
 */
export function compileCron(pattern: string, timeZone: string): Cron {
  const zone = timeZone && timeZone !== "UTC" && timeZone !== "Etc/UTC" ? { timezone: timeZone } : { utcOffset: 0 };
  return new Cron(pattern, { ...zone, mode: "5-or-6-parts", fixedTimeRule: "no-wildcard" });
}

/** Why the pattern does not parse (croner's message), or undefined. */
export function cronProblem(pattern: string): string | undefined {
  try {
    compileCron(pattern, "");
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why `timeZone` is not an IANA zone this runtime knows (Intl's message), or undefined. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return undefined;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return `not an IANA time zone such as "Europe/Berlin": ${error.message}`;
  }
}
