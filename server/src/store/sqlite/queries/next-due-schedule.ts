import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** The soonest next_due_ms of the unpaused schedules (the first entry of schedules_due), or undefined. */
export function nextDueSchedule(db: Db): number | undefined {
  const row = statement(db, "SELECT min(next_due_ms) AS due FROM schedules WHERE paused = 0").get() as {
    due: number | null;
  };
  return row.due ?? undefined;
}
