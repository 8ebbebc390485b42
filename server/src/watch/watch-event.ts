import { EventType, type WatchTasksResponse } from "@supervisor/sdk";
import { attributesOf, matchesFilter, type CompiledFilter } from "../core/task-filter.js";
import type { JournalRow } from "../db/queries/journal.js";
import { decodeTask } from "../db/queries/task-row.js";
import type { TaskChange } from "../store/task-change.js";

/**
 * What a watcher with `filter` sees of a change (Kubernetes semantics): a
 * task entering the filter is ADDED, leaving it is DELETED, changing inside
 * it is MODIFIED; changes wholly outside the filter are not sent.
 */
export function eventFor(change: TaskChange, filter: CompiledFilter): WatchTasksResponse | undefined {
  const now = attributesOf(change.task);
  const matchesNow = matchesFilter(filter, now);
  if (change.type !== EventType.EVENT_TYPE_MODIFIED || !change.previous) {
    return matchesNow ? { type: change.type, task: change.task, revision: change.revision } : undefined;
  }
  const matchedBefore = matchesFilter(filter, change.previous);
  if (!matchesNow && !matchedBefore) return undefined;
  const type = matchesNow && matchedBefore ? EventType.EVENT_TYPE_MODIFIED : matchesNow ? EventType.EVENT_TYPE_ADDED : EventType.EVENT_TYPE_DELETED;
  return { type, task: change.task, revision: change.revision };
}

export function changeFromJournal(row: JournalRow): TaskChange {
  const task = decodeTask(row.task);
  const change: TaskChange = { revision: row.revision, type: row.type as EventType, task };
  if (row.prev_phase !== null) {
    change.previous = { ...attributesOf(task), phase: row.prev_phase, runnerId: row.prev_runner_id ?? "" };
  }
  return change;
}
