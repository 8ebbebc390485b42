import { Task, type TaskSpec } from "@supervisor/sdk";
import Database from "better-sqlite3";

/**
 * What someone with write access to the database file does: changes a stored task's spec behind the
 * live server's back (keeping its signature), so a test can show the runner verifies it again. This
 * is about the SQLite file itself, so it writes the row with SQL; it is the one helper that may
 * (scripts/check-imports.mjs).
 */
export function tamperStoredSpec(dbPath: string, id: string, tamper: (spec: TaskSpec) => void): void {
  const db = new Database(dbPath);
  try {
    const row = db.prepare("SELECT task FROM tasks WHERE id = ?").get(id) as { task: Buffer };
    const stored = Task.decode(row.task);
    tamper(stored.spec!);
    db.prepare("UPDATE tasks SET task = ? WHERE id = ?").run(Buffer.from(Task.encode(stored).finish()), id);
  } finally {
    db.close();
  }
}
