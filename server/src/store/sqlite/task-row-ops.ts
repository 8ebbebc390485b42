import { EventType } from "@supervisor/sdk";
import type { TaskWrite } from "../backend.js";
import { SLOT_OWNER } from "../rows.js";
import { insertTaskValues } from "./queries/insert-task.js";
import { toTaskRow } from "./queries/task-row.js";
import { updateTaskValues } from "./queries/update-task.js";
import type { WriteOp } from "./write-ops.js";
import { W } from "./write-statements.js";

type Step = "insert" | "update" | "delete";

/** What one batch does to one task's row. */
interface RowPlan {
  steps: Step[];
  /** The write whose state an insert or update stores: the task's last change that is not a deletion. */
  last: number;
}

/**
 * The tasks-row statements of one batch, coalesced: however often a task changes in the batch, its row
 * is written once, in its last state (ADDED then MODIFIED is one INSERT of the last state); the journal
 * keeps every change. What the database refused before it still refuses: an INSERT of a stored id, an
 * UPDATE or DELETE of one that is not (a change that contradicts an earlier one of the batch — ADDED
 * twice, MODIFIED after DELETED — stays a statement of its own, and fails).
 *
 * One owner per slot is a unique index, checked at every statement: rows that end the batch owning a
 * slot are written after all the others, once every row that gave a slot up (or was deleted) has been.
 * The final state has one owner per slot, so no statement of that second pass can meet another owner.
 */
export function taskRowOps(writes: readonly TaskWrite[], encoded: readonly Uint8Array[]): WriteOp[] {
  const plans = new Map<string, RowPlan>();
  writes.forEach(({ change }, index) => {
    const id = change.task.id;
    let plan = plans.get(id);
    if (!plan) plans.set(id, (plan = { steps: [], last: index }));
    const lastStep = plan.steps.at(-1);
    if (change.type === EventType.EVENT_TYPE_DELETED) {
      // UPDATE then DELETE is the DELETE alone: it still fails when there is no row.
      if (lastStep === "update") plan.steps[plan.steps.length - 1] = "delete";
      else plan.steps.push("delete");
      return;
    }
    plan.last = index;
    if (change.type === EventType.EVENT_TYPE_ADDED) plan.steps.push("insert");
    else if (lastStep === undefined || lastStep === "delete") plan.steps.push("update");
  });

  const others: WriteOp[] = [];
  const owners: WriteOp[] = [];
  for (const [id, plan] of plans) {
    const { change, slotState } = writes[plan.last]!;
    for (const [index, step] of plan.steps.entries()) {
      if (step === "delete") {
        others.push([W.deleteTask, [id]]);
        continue;
      }
      const row = toTaskRow(change.task, slotState, encoded[plan.last]!);
      const values = step === "insert" ? insertTaskValues(row) : updateTaskValues(row);
      const final = index === plan.steps.length - 1;
      (final && row.slot_state === SLOT_OWNER ? owners : others).push([W[`${step}Task`], values]);
    }
  }
  return others.concat(owners);
}
