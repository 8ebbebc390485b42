import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { EventType, type WatchTasksResponse } from "@supervisor/sdk";
import { attributesOf, type CompiledFilter, matchesFilter } from "../core/task-filter.js";
import type { TaskChange } from "../store/backend.js";

/** A watch event on its way out: a message, or its wire bytes when they could be shared. */
export type WatchOutput = WatchTasksResponse | Buffer;

/**
 * What a watcher with `filter` sees of a change (Kubernetes semantics): a
 * task entering the filter is ADDED, leaving it is DELETED, changing inside
 * it is MODIFIED; changes wholly outside the filter are not sent.
 */
export function eventTypeFor(change: TaskChange, filter: CompiledFilter): EventType | undefined {
  const matchesNow = matchesFilter(filter, attributesOf(change.task));
  if (change.type !== EventType.EVENT_TYPE_MODIFIED || !change.previous) return matchesNow ? change.type : undefined;
  const matchedBefore = matchesFilter(filter, change.previous);
  if (!matchesNow && !matchedBefore) return undefined;
  return matchesNow && matchedBefore
    ? EventType.EVENT_TYPE_MODIFIED
    : matchesNow
      ? EventType.EVENT_TYPE_ADDED
      : EventType.EVENT_TYPE_DELETED;
}

/**
 * The event as WatchTasksResponse wire bytes — type (1), task (2, the stored
 * protobuf as is), revision (3) — made once per change and type, so ten
 * thousand watchers of one change cost one encoding.
 */
export function eventFor(change: TaskChange, filter: CompiledFilter): WatchOutput | undefined {
  const type = eventTypeFor(change, filter);
  if (type === undefined) return undefined;
  if (!change.encoded) return { type, task: change.task, revision: change.revision };
  change.wire ??= {};
  return (change.wire[type] ??= eventWire(type, change.encoded, change.revision));
}

/** A send_initial snapshot event from the stored task as is. */
export const addedEvent = (encodedTask: Uint8Array, revision: number): Buffer =>
  eventWire(EventType.EVENT_TYPE_ADDED, encodedTask, revision);

const eventWire = (type: EventType, encodedTask: Uint8Array, revision: number): Buffer =>
  Buffer.from(
    new BinaryWriter().uint32(8).int32(type).uint32(18).bytes(encodedTask).uint32(24).int64(revision).finish(),
  );
