import type { CallSettings } from "./call.js";
import { TaskFilter } from "./gen/supervisor/v1/task_service.js";
import { fromInput, type TaskFilterInput } from "./input.js";

/**
 * Which tasks a list, watch or informer covers: one shape for all of them,
 * `{ filter, …, signal }`, the way ListTasks and WatchTasks take `filter`.
 */
export interface TaskQuery {
  /** Slot, phases, label selector (`"team=a,tier!=db"`), runner id; each left out = no condition. */
  filter?: TaskFilterInput;
  /** Ends the iteration, and the call under it, when aborted. */
  signal?: AbortSignal;
}

export interface ListOptions extends TaskQuery, CallSettings {
  /** Tasks per ListTasks call (0 or left out = the server's default, 50; at most 1000). */
  pageSize?: number;
}

export interface ListPageOptions extends ListOptions {
  /** Where the previous page ended (its `nextPageToken`); left out = the first page. */
  pageToken?: string;
}

export interface WatchOptions extends TaskQuery {
  /** Changes after this revision (e.g. a list's `revision`). Left out or 0 = from now on. */
  sinceRevision?: number;
  /** First every matching task as ADDED, then a BOOKMARK, then the changes. */
  sendInitial?: boolean;
}

const FILTER_FIELDS: readonly string[] = ["slot", "phases", "labelSelector", "runnerId"] satisfies (keyof TaskFilter)[];

/** A whole TaskFilter: what is left out matches everything. */
export const taskFilterOf = (filter: TaskFilterInput = {}): TaskFilter => fromInput(TaskFilter, filter);

/**
 * The options of a call that also accepts the 0.1 shape with a bare filter
 * first (`list(filter, options)`, `informer(filter, handlers)`): a second
 * argument, or a first one holding filter fields, is that shape.
 */
export function queryOptions<O extends TaskQuery>(first: O | TaskFilterInput, second: object | undefined): O {
  const bare = second !== undefined || (!("filter" in first) && FILTER_FIELDS.some((field) => field in first));
  return bare ? ({ ...second, filter: first as TaskFilterInput } as O) : (first as O);
}
