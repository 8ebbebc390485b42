import type { ListTasksParams } from "../backend.js";
import { type ListPage, walkListPageAsync } from "../list-walk.js";
import { belowCursor, holdsNul } from "./nul.js";
import { listTasks } from "./queries/tasks.js";
import type { TaskRow } from "./rows.js";
import type { Queryable } from "./statement.js";

/** One page (list-walk.ts), as the SQLite backend pages. The caller runs it inside one snapshot. */
export async function listPage(db: Queryable, params: ListTasksParams): Promise<ListPage> {
  // A filter value no stored task can have (nul.ts): an empty page, as SQLite finds.
  if (holdsNul(params.slot) || holdsNul(params.runnerId) || holdsNul(params.idPrefix)) return { items: [] };
  const beforeId = params.beforeId === undefined ? undefined : belowCursor(params.beforeId);
  return walkListPageAsync(
    { ...params, beforeId },
    { fetch: (query) => listTasks(db, query), labelsOf: (row: TaskRow) => row.labels },
  );
}
