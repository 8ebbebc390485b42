import { DatabaseOpenError } from "../open-error.js";
import { knownSchemaVersion } from "./migrate.js";
import type { Db } from "./open.js";

/** Tables of the first migration: a database at version ≥ 1 without them was written by someone else. */
const OUR_TABLES = ["tasks", "journal", "meta"];

const MOVE_ASIDE =
  "restore it from a backup, or move it aside (with its -wal and -shm files) to start with an empty one";

/**
 * Refuses, before anything is written to it, a file that is not a healthy supervisor database:
 * a damaged one would fail calls at random later (or be damaged further), a foreign one would get
 * our tables added to it. quick_check reads every page once but skips the index-content checks of
 * integrity_check: 0.9 s for a 0.9 GB database (1M tasks) from the page cache, 1.9 s from disk, here.
 */
export function checkDatabase(db: Db, path: string): void {
  const problem = String(db.pragma("quick_check(1)", { simple: true }));
  if (problem !== "ok") throw damagedDatabase(path, problem);
  const version = db.pragma("user_version", { simple: true }) as number;
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const known = knownSchemaVersion();
  if (version > known) {
    throw new DatabaseOpenError(
      `the database ${path} has schema version ${version}, newer than this server knows (${known}): ` +
        "upgrade the server, or point --db at another file",
    );
  }
  const fresh = version === 0 && tables.length === 0;
  if (!fresh && (version === 0 || OUR_TABLES.some((table) => !tables.includes(table)))) {
    throw new DatabaseOpenError(
      `the database ${path} is not a supervisor database (schema version ${version}, ` +
        `tables ${clip(tables.join(", ") || "none")}): point --db at another file, or move it aside`,
    );
  }
}

/** SQLite's own words for a file it cannot read as a database; undefined for any other failure. */
export function unreadableDatabase(path: string, error: unknown): DatabaseOpenError | undefined {
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message;
  if (code === "SQLITE_NOTADB") {
    return new DatabaseOpenError(`the database ${path} is not a SQLite database (${message}): ${MOVE_ASIDE}`, {
      cause: error,
    });
  }
  if (code.startsWith("SQLITE_CORRUPT")) return damagedDatabase(path, message, error);
  return undefined;
}

function damagedDatabase(path: string, problem: string, cause?: unknown): DatabaseOpenError {
  // quick_check answers in lines ("*** in database main ***", then one per problem): keep one line.
  const detail = problem
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("***"))
    .join("; ");
  return new DatabaseOpenError(`the database ${path} is damaged (${clip(detail)}): ${MOVE_ASIDE}`, { cause });
}

const clip = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);
