import type { QueryConfig, QueryResultRow } from "pg";

/** A pool, a pooled client or a client: anything that runs a query. */
export interface Queryable {
  query<R extends QueryResultRow>(
    config: QueryConfig,
  ): Promise<{ rows: R[]; rowCount: number | null; command: string }>;
}

const names = new Map<string, string>();

/**
 * The query for `text` with `values`, as a named statement: each connection prepares it once (Parse)
 * and then only binds and executes it. The name is fixed by the text, so equal texts share it.
 */
export function statement(text: string, values: unknown[] = []): QueryConfig {
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `supervisor_${names.size + 1}`));
  return { name, text, values };
}

/** Runs one statement and returns its rows. */
export async function rows<R extends QueryResultRow>(db: Queryable, text: string, values?: unknown[]): Promise<R[]> {
  return (await db.query<R>(statement(text, values))).rows;
}

/** Runs one statement and returns its first row, if any. */
export async function row<R extends QueryResultRow>(
  db: Queryable,
  text: string,
  values?: unknown[],
): Promise<R | undefined> {
  return (await rows<R>(db, text, values))[0];
}
