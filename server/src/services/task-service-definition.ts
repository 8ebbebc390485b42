import { TaskServiceService, WatchTasksResponse } from "@supervisor/sdk";

/**
 * TaskService as generated, except that WatchTasks may also send events as
 * ready-made wire bytes: one encoding of a change serves every watcher.
 */
export const TASK_SERVICE_DEFINITION = {
  ...TaskServiceService,
  watchTasks: {
    ...TaskServiceService.watchTasks,
    responseSerialize: (value: WatchTasksResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : Buffer.from(WatchTasksResponse.encode(value).finish()),
  },
} as const;
