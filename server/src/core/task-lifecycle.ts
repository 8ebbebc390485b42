import { type Task, TaskPhase, TaskReason, type TaskSpec, type TaskStatus } from "@supervisor/sdk";

/** Whether a task still owns (or waits for) its slot and may run. */
export const isActive = (phase: TaskPhase) =>
  phase === TaskPhase.TASK_PHASE_PENDING || phase === TaskPhase.TASK_PHASE_RUNNING;
export const isTerminal = (phase: TaskPhase) => !isActive(phase);

/** Where a task stands in its slot: owning it, waiting in its queue, or outside any slot. */
export type SlotState = "owner" | "queued" | "none";

function emptyStatus(): TaskStatus {
  return {
    phase: TaskPhase.TASK_PHASE_PENDING,
    attempt: 0,
    runnerId: "",
    reason: "",
    message: "",
    cancelRequested: false,
    prunedRuns: 0,
  };
}

/** Why a pending task that is free to run is still waiting. */
export function waitingStatus(spec: TaskSpec, status: TaskStatus, nowMs: number): TaskStatus {
  if (spec.notBefore && spec.notBefore.getTime() > nowMs && status.attempt === 0) {
    return {
      ...status,
      reason: TaskReason.NOT_BEFORE,
      message: "waiting for not_before",
      nextAttemptTime: spec.notBefore,
    };
  }
  return {
    ...status,
    reason: TaskReason.NO_MATCHING_RUNNER,
    message: spec.pinnedRunnerId
      ? `pinned to runner ${spec.pinnedRunnerId}: waiting for it to be connected, match and have room`
      : "waiting for a runner that matches, has the kind and has room",
  };
}

/**
 * A task as submitted; `rerunOf` names the ended task a RerunTask copied the spec of, `traceparent` the
 * trace it was submitted in.
 */
export function newTask(
  id: string,
  spec: TaskSpec,
  requestId: string,
  nowMs: number,
  slotState: SlotState,
  rerunOf = "",
  traceparent = "",
): Task {
  const now = new Date(nowMs);
  const status =
    slotState === "queued"
      ? {
          ...emptyStatus(),
          reason: TaskReason.SLOT_QUEUED,
          message: `queued behind the active task of slot ${spec.slot}`,
        }
      : waitingStatus(spec, emptyStatus(), nowMs);
  return {
    id,
    spec,
    status,
    createTime: now,
    updateTime: now,
    revision: 0,
    requestId,
    parentId: "",
    rerunOf,
    traceparent,
  };
}

/** A pending task ended by a client or by REPLACE: terminal at once. */
export function canceledTask(task: Task, nowMs: number, reason: TaskReason, message: string): Task {
  const now = new Date(nowMs);
  return {
    ...task,
    status: {
      ...task.status!,
      phase: TaskPhase.TASK_PHASE_CANCELED,
      reason,
      message,
      finishTime: now,
      nextAttemptTime: undefined,
    },
    updateTime: now,
  };
}

/** A running task asked to stop: it turns CANCELED when its run ends. */
export function cancelRequestedTask(task: Task, nowMs: number, reason: TaskReason, message: string): Task {
  const now = new Date(nowMs);
  return { ...task, status: { ...task.status!, cancelRequested: true, reason, message }, updateTime: now };
}

/** A queued task that became its slot's owner. */
export function promotedTask(task: Task, nowMs: number): Task {
  return { ...task, status: waitingStatus(task.spec!, task.status!, nowMs), updateTime: new Date(nowMs) };
}

/** The earliest time a pending task may be dispatched, in ms. */
export function readyTimeMs(task: Task): number {
  const next = task.status?.nextAttemptTime?.getTime() ?? 0;
  const notBefore = task.status?.attempt === 0 ? (task.spec?.notBefore?.getTime() ?? 0) : 0;
  return Math.max(next, notBefore);
}
