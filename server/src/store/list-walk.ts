import { PageBudget, pagePrefix } from "../core/page-budget.js";
import type { ListTasksParams, TaskPage } from "./backend.js";

/** What one list query asks a backend for: tasks newest first, by keyset on id (never OFFSET). */
export interface ListTasksQuery {
  /** Exclusive upper bound on id (keyset cursor); undefined = from the newest. */
  beforeId?: string;
  slot?: string;
  phases?: number[];
  runnerId?: string;
  /** Lowercase hex digits and '-': a range on the primary key. */
  idPrefix?: string;
  limit: number;
}

/** The columns of a tasks row a list page reads. */
export interface ListedRow {
  id: string;
  slot: string | null;
  phase: number;
  runner_id: string | null;
  revision: number;
  task: Uint8Array;
}

export type ListPage = Omit<TaskPage, "revision">;

/** How a backend answers the walk: its list query, and a row's labels as an object. */
export interface ListSource<Row extends ListedRow, Rows> {
  fetch: (query: ListTasksQuery) => Rows;
  labelsOf: (row: Row) => Record<string, string>;
}

const itemOf = (row: ListedRow) => ({ encoded: row.task, revision: row.revision });

/**
 * One page, newest first, strictly older than `beforeId`. Without an `accept` filter the page is one
 * indexed query; with one, rows are examined in batches until the page is full, the scan budget is spent
 * (a short page with a cursor, AIP-158) or the rows end. Pages are bounded in bytes too.
 *
 * A generator so that both backends walk with this one loop: it yields each query and is handed back its
 * rows — SQLite's synchronously (its page and revision come from one read transaction, which cannot span an
 * await), PostgreSQL's once they arrive.
 */
function* walk<Row extends ListedRow>(
  params: ListTasksParams,
  labelsOf: (row: Row) => Record<string, string>,
): Generator<ListTasksQuery, ListPage, Row[]> {
  const query = { slot: params.slot, phases: params.phases, runnerId: params.runnerId, idPrefix: params.idPrefix };
  if (!params.accept) {
    const rows = yield { ...query, beforeId: params.beforeId, limit: params.limit + 1 };
    const page = pagePrefix(rows, params.limit, (row) => row.task.length);
    return { items: page.map(itemOf), nextBeforeId: page.length < rows.length ? page.at(-1)!.id : undefined };
  }
  const budget = new PageBudget(params.limit);
  const page: Row[] = [];
  const done = (nextBeforeId?: string) => ({ items: page.map(itemOf), nextBeforeId });
  let cursor = params.beforeId;
  let scanned = 0;
  const batch = Math.max(params.limit * 2, 100);
  const scanBudget = params.scanBudget ?? Number.POSITIVE_INFINITY;
  while (scanned < scanBudget) {
    // Never more rows than the budget has left: `accept` sees at most scanBudget rows.
    const want = Math.min(batch, scanBudget - scanned);
    const rows = yield { ...query, beforeId: cursor, limit: want };
    for (const row of rows) {
      scanned++;
      cursor = row.id;
      const attributes = { id: row.id, slot: row.slot ?? "", phase: row.phase, runnerId: row.runner_id ?? "" };
      if (!params.accept(labelsOf(row), attributes)) continue;
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

/** The walk over a query answered at once (SQLite): runs inside the caller's read transaction. */
export function walkListPage<Row extends ListedRow>(params: ListTasksParams, source: ListSource<Row, Row[]>): ListPage {
  const steps = walk(params, source.labelsOf);
  let step = steps.next();
  while (!step.done) step = steps.next(source.fetch(step.value));
  return step.value;
}

/** The walk over a query answered later (PostgreSQL): the caller runs it inside one snapshot. */
export async function walkListPageAsync<Row extends ListedRow>(
  params: ListTasksParams,
  source: ListSource<Row, Promise<Row[]>>,
): Promise<ListPage> {
  const steps = walk(params, source.labelsOf);
  let step = steps.next();
  while (!step.done) step = steps.next(await source.fetch(step.value));
  return step.value;
}
