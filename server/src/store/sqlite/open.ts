import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { DatabaseOpenError } from "../open-error.js";
import { checkDatabase, unreadableDatabase } from "./check.js";
import { migrate } from "./migrate.js";
import { cannotOpen } from "./open-error.js";

export type Db = Database.Database;

export interface OpenOptions {
  synchronous: "FULL" | "NORMAL";
}

/**
 * The settings of every connection that writes: this one while it migrates, the writer thread's after.
 * FULL: a commit is on disk (WAL fsynced) before we answer. NORMAL survives a process crash but may lose
 * the last commits on power loss. The WAL grows a little between checkpoints; we checkpoint at shutdown.
 */
export const writerPragmas = (options: OpenOptions): string[] => [
  "busy_timeout = 5000",
  `synchronous = ${options.synchronous}`,
  "foreign_keys = ON",
  "wal_autocheckpoint = 10000",
];

/**
 * Opens (creating if needed) the database with the durability settings the
 * product promises, checks it is a healthy supervisor database, and brings its
 * schema up to date.
 */
export function openDatabase(path: string, options: OpenOptions): Db {
  try {
    return open(path, options);
  } catch (error) {
    if (error instanceof DatabaseOpenError) throw error;
    throw unreadableDatabase(path, error) ?? cannotOpen(path, error);
  }
}

function open(path: string, options: OpenOptions): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma("busy_timeout = 5000");
    // Before any pragma below writes to the file (journal_mode rewrites the header of a foreign one).
    checkDatabase(db, path);
    db.pragma("journal_mode = WAL"); // kept in the file: the writer thread's connection finds it so
    for (const pragma of writerPragmas(options)) db.pragma(pragma);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
