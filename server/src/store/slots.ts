import { AdmissionPolicy, type Task, TaskPhase, TaskReason, type TaskSpec } from "@supervisor/sdk";
import { canceledTask, cancelRequestedTask, promotedTask, type SlotState } from "../core/task-lifecycle.js";
import { countSlotQueue } from "../db/queries/count-slot-queue.js";
import { findSlotOwner } from "../db/queries/find-slot-owner.js";
import { nextInSlotQueue } from "../db/queries/next-in-slot-queue.js";
import { decodeTask } from "../db/queries/task-row.js";
import { slotBusy, slotQueueFull } from "./admission-errors.js";
import type { TaskStore } from "./task-store.js";

/**
 * Admission: decides the new task's place in its slot, applying the spec's
 * policy to the current owner. Throws SLOT_BUSY / SLOT_QUEUE_FULL; for
 * REPLACE, cancels the owner (reason REPLACED) and takes the slot.
 */
export function admit(store: TaskStore, spec: TaskSpec, newTaskId: string, queueLimit: number): SlotState {
  if (!spec.slot) return "none";
  const ownerRow = findSlotOwner(store.db, spec.slot);
  if (!ownerRow) return "owner";
  switch (spec.admission) {
    case AdmissionPolicy.ADMISSION_POLICY_QUEUE: {
      if (countSlotQueue(store.db, spec.slot) >= queueLimit) throw slotQueueFull(spec.slot, queueLimit);
      return "queued";
    }
    case AdmissionPolicy.ADMISSION_POLICY_REPLACE: {
      const owner = decodeTask(ownerRow.task);
      stopTask(store, owner, TaskReason.REPLACED, `replaced by task ${newTaskId}`, "none");
      return "owner";
    }
    default:
      throw slotBusy(spec.slot, ownerRow.id);
  }
}

/**
 * Ends a pending task at once, or asks a running one to stop (the execution
 * engine sees the committed cancel_requested and tells the runner). `slotAfter`
 * says what a running task keeps of its slot: "none" hands the slot on.
 */
export function stopTask(
  store: TaskStore,
  task: Task,
  reason: TaskReason,
  message: string,
  slotAfter: SlotState = "none",
): Task {
  const now = store.clock.now();
  if (task.status!.phase === TaskPhase.TASK_PHASE_RUNNING) {
    return store.update(cancelRequestedTask(task, now, reason, message), task, slotAfter);
  }
  return store.update(canceledTask(task, now, reason, message), task, "none");
}

/** Hands a freed slot to the oldest queued task, if any. */
export function promoteNext(store: TaskStore, slot: string): Task | undefined {
  if (findSlotOwner(store.db, slot)) return undefined;
  const next = nextInSlotQueue(store.db, slot);
  if (!next) return undefined;
  const task = decodeTask(next.task);
  return store.update(promotedTask(task, store.clock.now()), task, "owner");
}
