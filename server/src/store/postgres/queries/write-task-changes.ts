import { SLOT_OWNER } from "../rows.js";
import { type Queryable, rows } from "../statement.js";
import type { TaskChangePlan, TaskRowColumns } from "../task-changes.js";

const TASK_COLUMNS =
  "id, slot, slot_state, phase, runner_id, priority, ready_time, labels, finish_time, revision, task";
const UNNEST_TASKS = (from: number) =>
  `unnest($${from}::text[], $${from + 1}::text[], $${from + 2}::int[], $${from + 3}::int[], $${from + 4}::text[],
          $${from + 5}::int[], $${from + 6}::bigint[], $${from + 7}::jsonb[], $${from + 8}::bigint[],
          $${from + 9}::bigint[], $${from + 10}::bytea[])`;

/**
 * A batch's task changes in one statement: the inserts, the updates, the deletes and the journal
 * rows, and the revision counter moved past them. The counter moves only if it still stands where
 * the batch began and every update and delete found its row; otherwise it would be set to NULL, which
 * its NOT NULL refuses, failing the statement and with it the transaction (STALE_BATCH below).
 */
const WRITE_TASK_CHANGES = `
WITH inserted AS (
  INSERT INTO tasks (${TASK_COLUMNS}) SELECT * FROM ${UNNEST_TASKS(1)}
), updated AS (
  UPDATE tasks t
  SET slot_state = u.slot_state, phase = u.phase, runner_id = u.runner_id, ready_time = u.ready_time,
      finish_time = u.finish_time, revision = u.revision, task = u.task
  FROM ${UNNEST_TASKS(12)} AS u(${TASK_COLUMNS})
  WHERE t.id = u.id
  RETURNING 1
), deleted AS (
  DELETE FROM tasks WHERE id = ANY($23::text[]) RETURNING 1
), journaled AS (
  INSERT INTO journal (revision, task_id, type, time, prev_phase, prev_runner_id, task)
  SELECT revision, task_id, type, $24::bigint, prev_phase, prev_runner_id, task
  FROM unnest($25::bigint[], $26::text[], $27::int[], $28::int[], $29::text[], $30::bytea[])
    AS j(revision, task_id, type, prev_phase, prev_runner_id, task)
)
UPDATE meta
SET value = CASE
  WHEN value = $31::bigint AND (SELECT count(*) FROM updated) = $32 AND (SELECT count(*) FROM deleted) = $33
  THEN value + $34::bigint
END
WHERE key = 'head'
RETURNING value`;

/** Owners letting go of slots that other rows of the batch take, before those rows are written (TaskChangePlan). */
const RELEASE_SLOTS = `UPDATE tasks SET slot_state = NULL WHERE id = ANY($1::text[]) AND slot_state = $2`;

const REINSERT_TASKS = `INSERT INTO tasks (${TASK_COLUMNS}) SELECT * FROM ${UNNEST_TASKS(1)}`;

/** The constraint a stale batch trips (see WRITE_TASK_CHANGES). */
export const STALE_BATCH = { code: "23502", table: "meta" };

const taskValues = (columns: TaskRowColumns) => [
  columns.id,
  columns.slot,
  columns.slotState,
  columns.phase,
  columns.runnerId,
  columns.priority,
  columns.readyTime,
  columns.labels,
  columns.finishTime,
  columns.revision,
  columns.task,
];

/**
 * Sends the statements of a batch's task changes; resolves with the head after them. `head` is the
 * revision the batch began at. Not awaited one by one: they go out pipelined with the rest of the batch.
 */
export function writeTaskChanges(db: Queryable, plan: TaskChangePlan, head: number, timeMs: number): Promise<number>[] {
  const { journal } = plan;
  const changes = journal.revision.length;
  const sent: Promise<number>[] = [];
  if (plan.releases.length > 0) {
    sent.push(rows(db, RELEASE_SLOTS, [plan.releases, SLOT_OWNER]).then(() => head));
  }
  sent.push(
    rows<{ value: number }>(db, WRITE_TASK_CHANGES, [
      ...taskValues(plan.inserts),
      ...taskValues(plan.updates),
      plan.deletes,
      timeMs,
      journal.revision,
      journal.taskId,
      journal.type,
      journal.prevPhase,
      journal.prevRunnerId,
      journal.task,
      head,
      plan.updates.id.length,
      plan.deletes.length,
      changes,
    ]).then((result) => result[0]!.value),
  );
  if (plan.reinserts.id.length > 0) {
    sent.push(rows(db, REINSERT_TASKS, taskValues(plan.reinserts)).then(() => head + changes));
  }
  return sent;
}
