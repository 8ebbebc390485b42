import { AdmissionPolicy, TaskPhase, TaskReason, type Task, type TaskSpec } from "@supervisor/sdk";
import { countSlotQueue } from "../db/queries/count-slot-queue.js";
import { findSlotOwner } from "../db/queries/find-slot-owner.js";
import { nextInSlotQueue } from "../db/queries/next-in-slot-queue.js";
import { decodeTask } from "../db/queries/task-row.js";
import { cancelRequestedTask, canceledTask, promotedTask, type SlotState } from "../core/task-lifecycle.js";
import { slotBusy, slotQueueFull } from "./admission-errors.js";
import type { TaskStore } from "./task-store.js";

/** Hooks the execution side gives the store: how to stop a running task. */
export interface RunningTaskHooks {
  /** A running task must stop (canceled or replaced); called inside the transaction. */
  cancelRunning(task: Task): void;
}

export const NO_RUNNING_HOOKS: RunningTaskHooks = { cancelRunning: () => {} };

/**
 * Admission: decides the new task's place in its slot, applying the spec's
 * policy to the current owner. Throws SLOT_BUSY / SLOT_QUEUE_FULL; for
 * REPLACE, cancels the owner (reason REPLACED) and takes the slot.
 */
export function admit(
  store: TaskStore,
  spec: TaskSpec,
  newTaskId: string,
  queueLimit: number,
  hooks: RunningTaskHooks,
): SlotState {
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
      stopTask(store, owner, TaskReason.REPLACED, `replaced by task ${newTaskId}`, hooks, "none");
      return "owner";
    }
    default:
      throw slotBusy(spec.slot, ownerRow.id);
  }
}

/**
 * Ends a pending task at once, or asks a running one to stop. `slotAfter`
 * says what the task keeps of its slot: "none" hands the slot on.
 */
export function stopTask(
  store: TaskStore,
  task: Task,
  reason: TaskReason,
  message: string,
  hooks: RunningTaskHooks,
  slotAfter: SlotState = "none",
): Task {
  const now = store.clock.now();
  if (task.status!.phase === TaskPhase.TASK_PHASE_RUNNING) {
    const stopping = store.update(cancelRequestedTask(task, now, reason, message), task, slotAfter);
    hooks.cancelRunning(stopping);
    return stopping;
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
