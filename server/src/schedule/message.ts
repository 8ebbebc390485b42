import type { Schedule } from "@supervisor/sdk";
import type { ScheduleRow } from "../store/backend.js";
import { timetable } from "./timetable.js";

/** How many next fire times the status shows. */
export const NEXT_FIRE_TIMES = 5;

/**
 * The API Schedule of a row: its definition, its status (next_fire_times: the next 5 ticks after
 * max(cursor, now), none when paused, ended or a named definition), its times and generation.
 */
export function scheduleMessage(row: ScheduleRow, nowMs: number): Schedule {
  const nextFireTimes: Date[] = [];
  const ticks = row.definition.paused ? undefined : timetable(row.definition, row.createMs);
  const from = Math.max(row.cursorMs, nowMs);
  for (let tick = ticks?.next(from) ?? null; tick !== null && nextFireTimes.length < NEXT_FIRE_TIMES; ) {
    nextFireTimes.push(new Date(tick));
    tick = ticks!.next(tick);
  }
  return {
    ...row.definition,
    id: row.id,
    status: {
      nextFireTimes,
      lastFireTime: row.lastFireMs === null ? undefined : new Date(row.lastFireMs),
      recentTaskIds: [...row.recentTaskIds],
      missed: row.missed,
      skipped: row.skipped,
      fired: row.fired,
    },
    createTime: new Date(row.createMs),
    updateTime: new Date(row.updateMs),
    generation: row.generation,
  };
}
