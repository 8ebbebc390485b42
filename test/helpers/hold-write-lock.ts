import Database from "better-sqlite3";

/**
 * Takes a database's write lock on a connection of its own, as another process with the file open
 * could, and keeps it until `release()`: a commit meanwhile waits for the lock (up to its busy
 * timeout), the way it waits for a slow disk. Reads go on (WAL). This is about the SQLite file
 * itself, so it opens it directly (scripts/check-imports.mjs).
 */
export function holdWriteLock(path: string): { release(): void } {
  const db = new Database(path);
  db.exec("BEGIN IMMEDIATE");
  return {
    release() {
      if (!db.open) return;
      db.exec("ROLLBACK");
      db.close();
    },
  };
}
