import type { ScheduleProgress, ScheduleRow } from "../../backend.js";
import { encodeDefinition, type ScheduleDbRow } from "../../rows.js";
import { asBuffer } from "../rows.js";
import { type Queryable, rows } from "../statement.js";

/** A schedules row as PostgreSQL returns it: the recent task ids as an array (text[]). */
export type PostgresScheduleRow = ScheduleDbRow<string[]>;

// Every write is one statement, conditional where two servers could race, and says by RETURNING whether
// it applied: servers sharing the database never overwrite each other's change.

const INSERT = `INSERT INTO schedules (id, definition, generation, create_ms, update_ms, cursor_ms, next_due_ms,
    paused, last_fire_ms, recent_task_ids, missed, skipped, fired)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

/**
 * A client's change, only over the generation it read (compare-and-set); the counts stay as they are, and
 * the cursor never goes back (a pass may have moved it on since the client read the row).
 */
const UPDATE = `UPDATE schedules
  SET definition = $2, generation = $3, update_ms = $4, cursor_ms = greatest(cursor_ms, $5), next_due_ms = $6,
      paused = $7
  WHERE id = $1 AND generation = $8
  RETURNING id`;

/**
 * The scheduler's progress, only over the generation and cursor it read (compare-and-set). The fired
 * task ids (newest first) go in front of the stored ones, the first 10 kept; last_fire_ms only moves
 * forward (greatest ignores a NULL: a TriggerSchedule may have fired later meanwhile).
 */
const ADVANCE = `UPDATE schedules SET
    cursor_ms = $4, next_due_ms = $5, last_fire_ms = greatest(last_fire_ms, $6),
    recent_task_ids = ($7::text[] || recent_task_ids)[1:10],
    fired = fired + cardinality($7::text[]), missed = missed + $8, skipped = skipped + $9
  WHERE id = $1 AND generation = $2 AND cursor_ms = $3
  RETURNING id`;

/** A TriggerSchedule's fire: its task in front of the recent ones (10 kept), counted; no condition. */
const RECORD_TRIGGER = `UPDATE schedules SET
    recent_task_ids = ($2::text || recent_task_ids)[1:10], fired = fired + 1,
    last_fire_ms = greatest(last_fire_ms, $3)
  WHERE id = $1`;

const applied = async (pending: Promise<unknown[]>) => (await pending).length > 0;

export const insertSchedule = (db: Queryable, row: ScheduleRow): Promise<boolean> =>
  applied(
    rows(db, INSERT, [
      row.id,
      asBuffer(encodeDefinition(row.definition)),
      row.generation,
      row.createMs,
      row.updateMs,
      row.cursorMs,
      row.nextDueMs,
      row.definition.paused,
      row.lastFireMs,
      row.recentTaskIds.slice(0, 10),
      row.missed,
      row.skipped,
      row.fired,
    ]),
  );

export const updateSchedule = (db: Queryable, row: ScheduleRow, expectedGeneration: number): Promise<boolean> =>
  applied(
    rows(db, UPDATE, [
      row.id,
      asBuffer(encodeDefinition(row.definition)),
      row.generation,
      row.updateMs,
      row.cursorMs,
      row.nextDueMs,
      row.definition.paused,
      expectedGeneration,
    ]),
  );

export const deleteSchedule = (db: Queryable, id: string): Promise<boolean> =>
  applied(rows(db, "DELETE FROM schedules WHERE id = $1 RETURNING id", [id]));

export const advanceSchedule = (
  db: Queryable,
  id: string,
  expected: { generation: number; cursorMs: number },
  progress: ScheduleProgress,
): Promise<boolean> =>
  applied(
    rows(db, ADVANCE, [
      id,
      expected.generation,
      expected.cursorMs,
      progress.cursorMs,
      progress.nextDueMs,
      progress.lastFireMs ?? null,
      progress.firedTaskIds,
      progress.missed,
      progress.skipped,
    ]),
  );

export const recordScheduleTrigger = (db: Queryable, id: string, taskId: string, nominalMs: number) =>
  rows(db, RECORD_TRIGGER, [id, taskId, nominalMs]);
