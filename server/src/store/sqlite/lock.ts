import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { DatabaseOpenError } from "../open-error.js";
import { cannotOpen } from "./open-error.js";

/** Another live server (in another process or in this one) already serves this database file. */
export class DatabaseInUseError extends DatabaseOpenError {
  override readonly name = "DatabaseInUseError";
}

/** Held for the server's life; released at shutdown, or by the OS when the process dies. */
export interface DatabaseLock {
  release(): void;
}

/** Who holds the lock, written beside it so a refused server can name the holder. */
interface Holder {
  pid: number;
  host: string;
  since: string;
}

/**
 * One server per SQLite file: a second one would mark the first one's live runs LOST and
 * write under it. Node has no flock, so the lock is SQLite's own: `<db>.lock` is an empty
 * SQLite database held in an exclusive transaction for the life of the process. Its POSIX
 * locks die with the process (a SIGKILLed server leaves no stale lock), and SQLite tracks
 * them per inode, so a second server in the same process is refused too.
 *
 * Never open `<db>.lock` with plain fs in this process: closing any descriptor of a file
 * drops the process's POSIX locks on it. The holder's pid is therefore kept in a separate
 * file, `<db>.lock-holder`.
 */
export function lockDatabase(path: string): DatabaseLock {
  if (path === ":memory:") return { release() {} };
  const lockPath = `${canonicalPath(path)}.lock`;
  const holderPath = `${lockPath}-holder`;
  let lock: Database.Database | undefined;
  try {
    mkdirSync(dirname(lockPath), { recursive: true });
    lock = new Database(lockPath);
    lock.pragma("busy_timeout = 0"); // the second server fails at once instead of waiting
    lock.pragma("journal_mode = MEMORY"); // nothing is ever written: no -journal file beside it
    lock.pragma("locking_mode = EXCLUSIVE");
    lock.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    lock?.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw new DatabaseInUseError(inUseMessage(path, readHolder(holderPath)), { cause: error });
    }
    throw cannotOpen(path, error, `cannot take its lock ${lockPath}: `);
  }
  writeHolder(holderPath);
  const held = lock;
  return {
    release() {
      // The holder file first: once the lock is gone, the next server may already be writing its own.
      rmSync(holderPath, { force: true });
      held.close();
    },
  };
}

/** The same file by every path (relative, symlinked), so every server derives the same lock file. */
function canonicalPath(path: string): string {
  return existsSync(path) ? realpathSync(path) : path;
}

function inUseMessage(path: string, holder: Holder | undefined): string {
  const by =
    holder === undefined
      ? "another supervisor server"
      : holder.pid === process.pid && holder.host === hostname()
        ? `another supervisor server in this process (pid ${holder.pid})`
        : `another supervisor process (pid ${holder.pid} on host ${holder.host}, since ${holder.since})`;
  return `the database ${path} is in use by ${by}; one server per SQLite file: stop it, or give this one its own --db`;
}

/** Best effort: the lock is what counts; a full disk must not stop a server that holds it. */
function writeHolder(holderPath: string): void {
  const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const temporary = `${holderPath}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(holder)}\n`);
    renameSync(temporary, holderPath); // a reader never sees half a file
  } catch {
    rmSync(temporary, { force: true });
    rmSync(holderPath, { force: true }); // better no name than a stale one
  }
}

/** The holder as written, unless it is missing, unreadable, or names a process of this host that is gone. */
function readHolder(holderPath: string): Holder | undefined {
  let holder: Partial<Holder>;
  try {
    holder = JSON.parse(readFileSync(holderPath, "utf8"));
  } catch {
    return undefined;
  }
  if (!Number.isInteger(holder.pid) || typeof holder.host !== "string" || typeof holder.since !== "string") {
    return undefined;
  }
  // A stale file (its writer was killed, the new holder has not written yet) must not name the wrong process.
  if (holder.host === hostname() && !isAlive(holder.pid!)) return undefined;
  return holder as Holder;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by another user
  }
}
