import { readdirSync, readFileSync } from "node:fs";
import type { Db } from "./open.js";

/** server/migrations/sqlite, from src/store/sqlite and dist/store/sqlite alike. */
const MIGRATIONS_DIR = new URL("../../../migrations/sqlite/", import.meta.url);

function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort();
}

/** The newest schema version this server knows (PRAGMA user_version after every migration). */
export function knownSchemaVersion(): number {
  return migrationFiles().length;
}

/**
 * Applies numbered migrations (`0001_name.sql`, ...) above PRAGMA user_version,
 * each in its own transaction together with the version bump. Forward only; a
 * newer database is refused before this by checkDatabase.
 */
export function migrate(db: Db): number {
  const files = migrationFiles();
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const [index, name] of files.entries()) {
    const version = index + 1;
    if (Number(name.slice(0, 4)) !== version)
      throw new Error(`migration ${name} is out of sequence (expected ${version})`);
    if (version <= current) continue;
    const sql = readFileSync(new URL(name, MIGRATIONS_DIR), "utf8");
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return files.length;
}
