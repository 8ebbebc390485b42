import type { Schedule } from "@supervisor/sdk";
import type { ScheduleRow } from "../store/backend.js";
import { catchupMs } from "./durations.js";
import { timetable } from "./timetable.js";

/**
 * How many missed cron ticks one pass counts one by one. A croner step costs ≈ 11 µs in UTC and
 * ≈ 75 µs in a time zone (Intl), so the cap bounds the pass to ≈ 0.1 s / 0.8 s of work. Past it the
 * remaining ticks older than the catch-up window are still handled (never fired) but not counted:
 * `missed` is then a lower bound. Intervals are counted exactly, by arithmetic.
 */
export const MISSED_COUNT_CAP = 10_000;

export interface PassPlan {
  /** Nominal times to fire, oldest first. */
  fire: number[];
  /** Ticks older than the catch-up window, not fired. */
  missed: number;
  /** Every tick at or before it is handled once the fires are done (the newest tick fired or missed). */
  cursorMs: number;
  /** The first tick after cursorMs (in the past when maxFires stopped the pass: go on at once); null = never. */
  nextDueMs: number | null;
}

/**
 * One pass of the scheduler over a due row at nowMs: the ticks in (cursor, now]. Those at most
 * catchup_window late (nominal ≥ now − window, the boundary included) are fired, oldest first, at
 * most maxFires; older ones are counted missed. Does not look at `paused` (due() skips paused rows).
 */
export function planPass(
  row: Pick<ScheduleRow, "definition" | "createMs" | "cursorMs">,
  nowMs: number,
  maxFires: number,
): PassPlan {
  const ticks = timetable(row.definition, row.createMs);
  if (!ticks) return { fire: [], missed: 0, cursorMs: row.cursorMs, nextDueMs: null };
  const oldestFired = nowMs - catchupMs(row.definition);
  let cursorMs = row.cursorMs;
  let missed = 0;
  if (cursorMs < oldestFired - 1) {
    if (ticks.span) {
      const span = ticks.span(cursorMs, oldestFired - 1);
      missed = span.count;
      cursorMs = span.newest ?? cursorMs;
    } else {
      let tick = ticks.next(cursorMs);
      for (; tick !== null && tick < oldestFired && missed < MISSED_COUNT_CAP; tick = ticks.next(tick)) {
        missed++;
        cursorMs = tick;
      }
      if (tick !== null && tick < oldestFired) cursorMs = oldestFired - 1; // the cap: the rest go uncounted
    }
  }
  const fire: number[] = [];
  let tick = ticks.next(cursorMs);
  for (; tick !== null && tick <= nowMs && fire.length < maxFires; tick = ticks.next(tick)) {
    fire.push(tick);
    cursorMs = tick;
  }
  return { fire, missed, cursorMs, nextDueMs: tick };
}

/**
 * The cursor and next due tick after a client change at nowMs (create with cursorMs = createMs =
 * now, an update of the spec, an unpause): ticks at or before now are never fired for it — a new
 * spec's past ticks never existed, ticks while paused are not caught up.
 */
export function cursorAfterChange(
  definition: Schedule,
  createMs: number,
  cursorMs: number,
  nowMs: number,
): { cursorMs: number; nextDueMs: number | null } {
  const cursor = Math.max(cursorMs, nowMs);
  return { cursorMs: cursor, nextDueMs: timetable(definition, createMs)?.next(cursor) ?? null };
}
