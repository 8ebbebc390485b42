import type { ScheduleProgress, ScheduleRow, ScheduleStore } from "../backend.js";
import { guarded } from "./errors.js";
import type { Db } from "./open.js";
import { advanceScheduleValues } from "./queries/advance-schedule.js";
import { dueSchedules } from "./queries/due-schedules.js";
import { getSchedule } from "./queries/get-schedule.js";
import { insertScheduleValues } from "./queries/insert-schedule.js";
import { listSchedules } from "./queries/list-schedules.js";
import { nextDueSchedule } from "./queries/next-due-schedule.js";
import { recordScheduleTriggerValues } from "./queries/record-schedule-trigger.js";
import { sqliteScheduleOf } from "./queries/schedule-row.js";
import { updateScheduleValues } from "./queries/update-schedule.js";
import type { WriteOp } from "./write-ops.js";
import { W } from "./write-statements.js";

/**
 * Commits one statement through the backend's writer (in turn with its transactions) and resolves, once
 * it is committed, with how many rows it changed.
 */
export type CommitOne = (op: WriteOp) => Promise<number>;

/**
 * The schedules table of a SQLite file. Each write is one statement committed on its own by the writer
 * that holds the file's write lock — the conditions (generation, cursor) are in its WHERE, so it holds
 * whatever commits before it; reads are one statement each on the backend's read connection.
 */
export class SqliteSchedules implements ScheduleStore {
  constructor(
    private readonly db: Db,
    private readonly commit: CommitOne,
  ) {}

  async create(row: ScheduleRow): Promise<boolean> {
    return (await this.commit([W.insertSchedule, insertScheduleValues(row)])) === 1;
  }

  async get(id: string): Promise<ScheduleRow | undefined> {
    return guarded(() => {
      const row = getSchedule(this.db, id);
      return row && sqliteScheduleOf(row);
    });
  }

  async list(afterId: string, limit: number): Promise<ScheduleRow[]> {
    return guarded(() => listSchedules(this.db, afterId, limit).map(sqliteScheduleOf));
  }

  async update(row: ScheduleRow, expectedGeneration: number): Promise<boolean> {
    return (await this.commit([W.updateSchedule, updateScheduleValues(row, expectedGeneration)])) === 1;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.commit([W.deleteSchedule, [id]])) === 1;
  }

  async due(nowMs: number, limit: number): Promise<ScheduleRow[]> {
    return guarded(() => dueSchedules(this.db, nowMs, limit).map(sqliteScheduleOf));
  }

  async nextDueMs(): Promise<number | undefined> {
    return guarded(() => nextDueSchedule(this.db));
  }

  async advance(
    id: string,
    expected: { generation: number; cursorMs: number },
    progress: ScheduleProgress,
  ): Promise<boolean> {
    return (await this.commit([W.advanceSchedule, advanceScheduleValues(id, expected, progress)])) === 1;
  }

  async recordTrigger(id: string, taskId: string, nominalMs: number): Promise<void> {
    await this.commit([W.recordScheduleTrigger, recordScheduleTriggerValues(id, taskId, nominalMs)]);
  }

  /** Alone on its file: no other server changes a schedule. */
  onChanged(): () => void {
    return () => {};
  }
}
