import type { ScheduleProgress, ScheduleRow, ScheduleStore } from "../backend.js";
import { scheduleOf } from "../rows.js";
import { ChangeNotices } from "./change-notices.js";
import { guarded } from "./errors.js";
import { aboveCursor, holdsNul } from "./nul.js";
import { CHANNELS } from "./queries/notify.js";
import { dueSchedules, getSchedule, listSchedules, nextDueSchedule } from "./queries/schedule-reads.js";
import {
  advanceSchedule,
  deleteSchedule,
  insertSchedule,
  type PostgresScheduleRow,
  recordScheduleTrigger,
  updateSchedule,
} from "./queries/schedules.js";
import type { Queryable } from "./statement.js";

const decode = (row: PostgresScheduleRow): ScheduleRow => scheduleOf(row, row.recent_task_ids);

/**
 * The schedules table (queries/schedules.ts), each call one statement on the pool, committed on its own
 * (outside the writer's transactions: a schedule moves no revision). Shared by several servers, the
 * conditions in the statements (generation, cursor) decide which of two racing changes applies.
 */
export class PostgresSchedules implements ScheduleStore {
  private readonly notices: ChangeNotices;

  constructor(
    private readonly db: Queryable,
    serverId: string,
    /** Servers share the database: a change is told to the others (their leader's scheduler wakes). */
    shared: boolean,
  ) {
    this.notices = new ChangeNotices(db, CHANNELS.schedules, serverId, shared);
  }

  create(row: ScheduleRow): Promise<boolean> {
    return this.told(guarded(() => insertSchedule(this.db, row)));
  }

  get(id: string): Promise<ScheduleRow | undefined> {
    // An id holding U+0000 (text cannot) is no stored schedule's, as on SQLite.
    if (holdsNul(id)) return Promise.resolve(undefined);
    return guarded(async () => {
      const row = await getSchedule(this.db, id);
      return row && decode(row);
    });
  }

  list(afterId: string, limit: number): Promise<ScheduleRow[]> {
    return guarded(async () => (await listSchedules(this.db, aboveCursor(afterId), limit)).map(decode));
  }

  update(row: ScheduleRow, expectedGeneration: number): Promise<boolean> {
    if (holdsNul(row.id)) return Promise.resolve(false);
    return this.told(guarded(() => updateSchedule(this.db, row, expectedGeneration)));
  }

  delete(id: string): Promise<boolean> {
    if (holdsNul(id)) return Promise.resolve(false);
    return this.told(guarded(() => deleteSchedule(this.db, id)));
  }

  due(nowMs: number, limit: number): Promise<ScheduleRow[]> {
    return guarded(async () => (await dueSchedules(this.db, nowMs, limit)).map(decode));
  }

  nextDueMs(): Promise<number | undefined> {
    return guarded(() => nextDueSchedule(this.db));
  }

  advance(
    id: string,
    expected: { generation: number; cursorMs: number },
    progress: ScheduleProgress,
  ): Promise<boolean> {
    if (holdsNul(id)) return Promise.resolve(false);
    return guarded(() => advanceSchedule(this.db, id, expected, progress));
  }

  async recordTrigger(id: string, taskId: string, nominalMs: number): Promise<void> {
    if (holdsNul(id)) return;
    await guarded(() => recordScheduleTrigger(this.db, id, taskId, nominalMs));
  }

  onChanged(listener: () => void): () => void {
    return this.notices.onChanged(listener);
  }

  /** Another server's change (its notification, or LISTEN back after a gap). */
  changedElsewhere(): void {
    this.notices.changedElsewhere();
  }

  private told(change: Promise<boolean>): Promise<boolean> {
    return this.notices.told(change);
  }
}
