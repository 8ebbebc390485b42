import type { ClientBase } from "pg";
import { DatabaseOpenError } from "../open-error.js";
import { LOCK_NAMESPACE, WRITER_LOCK } from "./locks.js";
import { row } from "./statement.js";

/** Another live server already owns this database. */
export class DatabaseInUseError extends DatabaseOpenError {
  override readonly name = "DatabaseInUseError";
}

/**
 * One server per database, unless the servers share it (issue 17): a second one would mark the
 * first one's live runs LOST and write under it. The lock is a session advisory lock held by the
 * writer's connection, so every write goes through the connection that holds it: if that connection
 * drops, the lock goes with it and no write of this server commits until it has taken it again.
 * PostgreSQL releases it when the holder's session ends, so a killed server leaves no stale lock.
 * Servers that share the database take it in shared mode: any number of them at once, but never
 * beside a server that assumes it is alone (and that one is refused while any of them runs).
 * Returns false when another session holds it in the other mode (or exclusively).
 */
export async function tryWriterLock(client: ClientBase, shared: boolean): Promise<boolean> {
  const lock = shared ? "pg_try_advisory_lock_shared" : "pg_try_advisory_lock";
  const taken = await row<{ ok: boolean }>(client, `SELECT ${lock}($1, $2) AS ok`, [LOCK_NAMESPACE, WRITER_LOCK]);
  return taken!.ok;
}

/** The refusal when the lock is held, naming the holder as pg_stat_activity shows it (when this role may see it). */
export async function inUseError(client: ClientBase, where: string, shared: boolean): Promise<DatabaseInUseError> {
  const holder = await row<{ application_name: string | null; client_addr: string | null; backend_start: Date | null }>(
    client,
    `SELECT a.application_name, host(a.client_addr) AS client_addr, a.backend_start
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_NAMESPACE, WRITER_LOCK],
  ).catch(() => undefined);
  const by = holder?.application_name
    ? `another supervisor server (${holder.application_name}` +
      `${holder.client_addr ? `, connected from ${holder.client_addr}` : ""}` +
      `${holder.backend_start ? ` since ${holder.backend_start.toISOString()}` : ""})`
    : "another supervisor server";
  return new DatabaseInUseError(
    shared
      ? `the database ${where} is in use by ${by} that does not share it: stop it, or start it sharing the database too`
      : `the database ${where} is in use by ${by}; one server per database: stop it, or give this one its own --db`,
  );
}
