import type { ListTasksParams } from "../backend.js";
import { type ListPage, walkListPage } from "../list-walk.js";
import type { Db } from "./open.js";
import { listTasks } from "./queries/list-tasks.js";
import type { TaskRow } from "./queries/task-row.js";

/** One page (list-walk.ts), synchronous: the caller reads it and the head in one read transaction. */
export function listPage(db: Db, params: ListTasksParams): ListPage {
  return walkListPage(params, {
    fetch: (query) => listTasks(db, query),
    // The labels column is JSON text here, parsed only for the rows a filter examines.
    labelsOf: (row: TaskRow) => JSON.parse(row.labels) as Record<string, string>,
  });
}
