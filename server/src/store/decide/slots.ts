import { AdmissionPolicy, type Task, TaskPhase, TaskReason, type TaskSpec } from "@supervisor/sdk";
import { canceledTask, cancelRequestedTask, promotedTask, type SlotState } from "../../core/task-lifecycle.js";
import { slotBusy, slotQueueFull } from "../../errors.js";
import { settleStoppedParent } from "./fan-out.js";
import type { WriteView } from "./view.js";

/**
 * Admission: the new task's place in its slot, applying the spec's policy to
 * the current owner. Throws SLOT_BUSY / SLOT_QUEUE_FULL; for REPLACE, stops
 * the owner (reason REPLACED) and takes the slot.
 */
export function admit(
  view: WriteView,
  spec: TaskSpec,
  newTaskId: string,
  queueLimit: number,
  nowMs: number,
): SlotState {
  if (!spec.slot) return "none";
  const owner = view.slotOwner(spec.slot);
  if (!owner) return "owner";
  switch (spec.admission) {
    case AdmissionPolicy.ADMISSION_POLICY_QUEUE: {
      if (view.slotQueue(spec.slot).count >= queueLimit) throw slotQueueFull(spec.slot, queueLimit);
      return "queued";
    }
    case AdmissionPolicy.ADMISSION_POLICY_REPLACE: {
      stopTask(view, owner.task, TaskReason.REPLACED, `replaced by task ${newTaskId}`, "none", nowMs);
      return "owner";
    }
    default:
      throw slotBusy(spec.slot, owner.task.id);
  }
}

/**
 * Ends a pending task at once, or asks a running one to stop (the engine
 * sees the committed cancel_requested and tells the runner). `slotAfter`
 * says what a running task keeps of its slot: "none" hands the slot on.
 */
export function stopTask(
  view: WriteView,
  task: Task,
  reason: TaskReason,
  message: string,
  slotAfter: SlotState,
  nowMs: number,
): Task {
  if (task.status!.phase === TaskPhase.TASK_PHASE_RUNNING) {
    const requested = view.updateTask(cancelRequestedTask(task, nowMs, reason, message), task, slotAfter);
    // A fan-out parent has no run to end: with no child active it ends now (its children are canceled after).
    settleStoppedParent(view, requested, nowMs);
    return view.task(task.id)!.task;
  }
  return view.updateTask(canceledTask(task, nowMs, reason, message), task, "none");
}

/** Hands a freed slot to the oldest queued task, if any. */
export function promoteNext(view: WriteView, slot: string, nowMs: number): Task | undefined {
  if (view.slotOwner(slot)) return undefined;
  const next = view.slotQueue(slot).oldest;
  if (!next) return undefined;
  return view.updateTask(promotedTask(next.task, nowMs), next.task, "owner");
}
