import type { Schedule } from "@supervisor/sdk";
import { compileCron } from "./cron.js";
import { durationMs } from "./durations.js";

export interface Timetable {
  /** First nominal tick strictly after afterMs, or null. */
  next(afterMs: number): number | null;
  /**
   * The ticks in (afterMs, throughMs]: how many and the newest (null when none). Only where it is
   * cheap for any range (intervals: arithmetic); planPass walks `next` otherwise.
   */
  span?(afterMs: number, throughMs: number): { count: number; newest: number | null };
}

/**
 * When a definition fires: ticks of its cron (in its time zone) or its interval, none before
 * start_time (inclusive) and none after end_time (inclusive). undefined for a named definition
 * (neither cron nor interval). `definition` is a validated one (validateDefinition).
 */
export function timetable(definition: Schedule, createMs: number): Timetable | undefined {
  const spec = definition.spec;
  if (!spec) return undefined;
  const startMs = spec.startTime?.getTime();
  const endMs = spec.endTime?.getTime() ?? Number.POSITIVE_INFINITY;
  const intervalMs = durationMs(spec.interval);
  if (intervalMs) return intervalTimetable(startMs ?? createMs, startMs !== undefined, intervalMs, endMs);
  if (!spec.cron) return undefined;
  const cron = compileCron(spec.cron, spec.timeZone);
  return {
    next(afterMs) {
      // croner works in whole seconds and returns the first run strictly after its argument.
      const from = startMs !== undefined && afterMs < startMs ? startMs - 1 : afterMs;
      const run = cron.nextRun(new Date(from));
      const tick = run ? run.getTime() : null;
      return tick !== null && tick <= endMs ? tick : null;
    },
  };
}

/** anchor + k·interval for k ≥ 0 (anchored on start_time) or k ≥ 1 (anchored on the creation). */
function intervalTimetable(anchorMs: number, includeAnchor: boolean, intervalMs: number, endMs: number): Timetable {
  const firstK = includeAnchor ? 0 : 1;
  const lastK = Number.isFinite(endMs) ? Math.floor((endMs - anchorMs) / intervalMs) : Number.POSITIVE_INFINITY;
  /** The k of the newest tick at or before t (may be below firstK). */
  const kThrough = (t: number) => Math.min(lastK, Math.floor((t - anchorMs) / intervalMs));
  return {
    next(afterMs) {
      const k = Math.max(firstK, Math.floor((afterMs - anchorMs) / intervalMs) + 1);
      return k <= lastK ? anchorMs + k * intervalMs : null;
    },
    span(afterMs, throughMs) {
      const from = Math.max(firstK, Math.floor((afterMs - anchorMs) / intervalMs) + 1);
      const to = kThrough(throughMs);
      return to < from ? { count: 0, newest: null } : { count: to - from + 1, newest: anchorMs + to * intervalMs };
    },
  };
}
