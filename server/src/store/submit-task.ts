import type { Task, TaskSpec } from "@supervisor/sdk";
import { newTask } from "../core/task-lifecycle.js";
import { specHash } from "../core/task-spec.js";
import { getIdempotencyKey, putIdempotencyKey } from "../db/queries/idempotency-keys.js";
import { requestIdReused } from "./admission-errors.js";
import { admit } from "./slots.js";
import type { TaskStore } from "./task-store.js";

export interface SubmitSettings {
  slotQueueLimit: number;
  idempotencyTtlMs: number;
}

/**
 * Stores one validated submit (spec with defaults applied). A known
 * request_id with the same spec returns the original task unchanged; with
 * another spec it fails REQUEST_ID_REUSED. Must run inside a transaction.
 */
export function submitTask(store: TaskStore, spec: TaskSpec, requestId: string, settings: SubmitSettings): Task {
  const now = store.clock.now();
  const hash = specHash(spec);
  if (requestId) {
    const key = getIdempotencyKey(store.db, requestId);
    if (key && key.create_time >= now - settings.idempotencyTtlMs) {
      if (key.spec_hash !== hash) throw requestIdReused(requestId, key.task_id);
      const original = store.get(key.task_id);
      if (original) return original;
      // The original was deleted by retention: the key no longer protects anything; start afresh.
    }
  }
  const id = store.ids.next();
  const slotState = admit(store, spec, id, settings.slotQueueLimit);
  const task = store.insert(newTask(id, spec, requestId, now, slotState), slotState);
  if (requestId) putIdempotencyKey(store.db, { request_id: requestId, task_id: id, spec_hash: hash, create_time: now });
  return task;
}
