import type { TaskSpec } from "@supervisor/sdk";
import { isFanOut } from "../../core/fan-out.js";
import { newTask } from "../../core/task-lifecycle.js";
import { requestIdReused } from "../../errors.js";
import type { ReadKeys, StoredTask } from "../backend.js";
import { insertFanOut } from "./fan-out.js";
import { admit } from "./slots.js";
import type { WriteView } from "./view.js";

export interface SubmitSettings {
  slotQueueLimit: number;
  idempotencyTtlMs: number;
}

export interface SubmitParams {
  /** The validated spec, defaults applied. */
  spec: TaskSpec;
  requestId: string;
  /** specHash(spec), computed before the batch. */
  specHash: string;
  /** The id the task gets if it is new. */
  id: string;
  /** Placement EACH_MATCHING_RUNNER: the runners that get a child (read before the batch). */
  fanOutRunnerIds?: readonly string[];
  /** RerunTask: the ended task whose spec this is (Task.rerun_of). */
  rerunOf?: string;
  /** The W3C trace context it was submitted in (Task.traceparent); "" = none. */
  traceparent?: string;
}

/** What deciding a submit reads: its idempotency key, its slot's owner and queue. */
export function submitReads(params: SubmitParams): ReadKeys {
  const slot = params.spec.slot;
  return {
    idempotencyKeys: params.requestId ? [params.requestId] : [],
    slotOwners: slot ? [slot] : [],
    slotQueues: slot ? [slot] : [],
  };
}

/**
 * One submit: a known request_id with the same spec answers with the original
 * task unchanged, with another spec REQUEST_ID_REUSED; otherwise admission
 * decides the task's place in its slot and the task is stored (ADDED). Either way the task as stored,
 * with its encoding: the answer is those bytes, not a second encoding of the task.
 */
export function decideSubmit(
  view: WriteView,
  params: SubmitParams,
  settings: SubmitSettings,
  nowMs: number,
): StoredTask {
  const { spec, requestId, specHash } = params;
  if (requestId) {
    const key = view.idempotencyKey(requestId);
    if (key && key.createTimeMs >= nowMs - settings.idempotencyTtlMs) {
      if (key.specHash !== specHash) throw requestIdReused(requestId, key.taskId);
      const original = view.task(key.taskId);
      if (original) return original;
      // The original was deleted by retention: the key no longer protects anything; start afresh.
    }
  }
  const slotState = admit(view, spec, params.id, settings.slotQueueLimit, nowMs);
  const task = newTask(params.id, spec, requestId, nowMs, slotState, params.rerunOf, params.traceparent);
  if (isFanOut(spec) && slotState !== "queued")
    insertFanOut(view, task, slotState, params.fanOutRunnerIds ?? [], nowMs);
  else view.insertTask(task, slotState);
  if (requestId) view.putIdempotencyKey({ requestId, taskId: params.id, specHash, createTimeMs: nowMs });
  return view.task(params.id)!; // as just stored, with its encoding
}
