import { PageBudget, pagePrefix } from "../../core/page-budget.js";
import type { ListTasksParams, TaskPage } from "../backend.js";
import { belowCursor, holdsNul } from "./nul.js";
import { listTasks } from "./queries/tasks.js";
import type { TaskRow } from "./rows.js";
import type { Queryable } from "./statement.js";

const itemOf = (row: TaskRow) => ({ encoded: row.task, revision: row.revision });

/**
 * One page, newest first, strictly older than `beforeId` (as the SQLite backend pages). Without an
 * `accept` filter the page is one indexed query; with one, rows are examined in batches until the
 * page is full, the scan budget is spent (a short page with a cursor, AIP-158) or the rows end.
 * Pages are bounded in bytes too. The caller runs it inside one snapshot.
 */
export async function listPage(db: Queryable, params: ListTasksParams): Promise<Omit<TaskPage, "revision">> {
  // A filter value no stored task can have (nul.ts): an empty page, as SQLite finds.
  if (holdsNul(params.slot) || holdsNul(params.runnerId) || holdsNul(params.idPrefix)) return { items: [] };
  const query = { slot: params.slot, phases: params.phases, runnerId: params.runnerId, idPrefix: params.idPrefix };
  const beforeId = params.beforeId === undefined ? undefined : belowCursor(params.beforeId);
  if (!params.accept) {
    const rows = await listTasks(db, { ...query, beforeId, limit: params.limit + 1 });
    const page = pagePrefix(rows, params.limit, (row) => row.task.length);
    return { items: page.map(itemOf), nextBeforeId: page.length < rows.length ? page.at(-1)!.id : undefined };
  }
  const budget = new PageBudget(params.limit);
  const page: TaskRow[] = [];
  const done = (nextBeforeId?: string) => ({ items: page.map(itemOf), nextBeforeId });
  let cursor = beforeId;
  let scanned = 0;
  const batch = Math.max(params.limit * 2, 100);
  const scanBudget = params.scanBudget ?? Number.POSITIVE_INFINITY;
  while (scanned < scanBudget) {
    // Never more rows than the budget has left: `accept` sees at most scanBudget rows.
    const want = Math.min(batch, scanBudget - scanned);
    const rows = await listTasks(db, { ...query, beforeId: cursor, limit: want });
    for (const row of rows) {
      scanned++;
      cursor = row.id;
      const attributes = { id: row.id, slot: row.slot ?? "", phase: row.phase, runnerId: row.runner_id ?? "" };
      if (!params.accept(row.labels, attributes)) continue;
      // Too big for this page: the next starts with it.
      if (!budget.take(row.task.length)) return done(page.at(-1)!.id);
      page.push(row);
      if (budget.full) {
        const more = rows.length === want || row !== rows[rows.length - 1];
        return done(more ? row.id : undefined);
      }
    }
    if (rows.length < want) return done();
  }
  return done(cursor);
}
