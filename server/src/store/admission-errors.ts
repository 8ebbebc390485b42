import { status } from "@grpc/grpc-js";
import { ErrorReason, type TaskPhase, taskPhaseToJSON } from "@supervisor/sdk";
import { DomainError } from "../errors.js";

export const slotBusy = (slot: string, ownerTaskId: string) =>
  new DomainError(status.FAILED_PRECONDITION, ErrorReason.SLOT_BUSY, `slot ${slot} is busy with task ${ownerTaskId}`, {
    slot,
    owner_task_id: ownerTaskId,
  });

export const slotQueueFull = (slot: string, limit: number) =>
  new DomainError(
    status.RESOURCE_EXHAUSTED,
    ErrorReason.SLOT_QUEUE_FULL,
    `the queue of slot ${slot} is full (${limit} tasks)`,
    {
      slot,
      limit: String(limit),
    },
  );

export const requestIdReused = (requestId: string, taskId: string) =>
  new DomainError(
    status.ALREADY_EXISTS,
    ErrorReason.REQUEST_ID_REUSED,
    `request_id ${requestId} was already used for task ${taskId} with a different spec`,
    { request_id: requestId, task_id: taskId },
  );

export const taskTerminal = (taskId: string, phase: TaskPhase) =>
  new DomainError(
    status.FAILED_PRECONDITION,
    ErrorReason.TASK_TERMINAL,
    `task ${taskId} already ended (${taskPhaseToJSON(phase)})`,
    {
      task_id: taskId,
      phase: taskPhaseToJSON(phase),
    },
  );
