import type { Db } from "../open.js";
import { statement } from "../statement.js";

/** The newest revision ever written (kept in meta once the journal is compacted past it). */
export function journalHead(db: Db): number {
  const row = statement(db, "SELECT max(revision) AS head FROM journal").get() as { head: number | null };
  return Math.max(row.head ?? 0, getMeta(db, "compacted_through"));
}

export function getMeta(db: Db, key: string): number {
  return (statement(db, "SELECT value FROM meta WHERE key = ?").get(key) as { value: number } | undefined)?.value ?? 0;
}
