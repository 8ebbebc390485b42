import type { EventType, Task } from "@supervisor/sdk";
import type { FilterAttributes } from "../core/task-filter.js";

/** One committed change of one task, as the journal holds it and watchers receive it. */
export interface TaskChange {
  revision: number;
  type: EventType;
  /** The task after the change (for DELETED: its last state). */
  task: Task;
  /** The filter attributes before a MODIFIED change, so a watcher can tell "left my filter". */
  previous?: FilterAttributes;
  /** The task's protobuf, as stored: watch events embed it instead of encoding the task again. */
  encoded?: Buffer;
  /** WatchTasksResponse wire bytes by event type, built once and shared by every watcher. */
  wire?: Partial<Record<number, Buffer>>;
}
