import type { Config } from "../config.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../errors.js";
import type { StorageBackend } from "./backend.js";
import { PostgresBackend } from "./postgres/backend.js";
import { isPostgresUrl, redactUrl } from "./postgres/url.js";
import { SqliteBackend } from "./sqlite/backend.js";

export interface OpenOptions {
  /**
   * PostgreSQL only: other servers write the same database at the same time (issue 17; internal
   * until the engine runs its leader-only parts on the leader alone). A SQLite file is never shared.
   */
  shared?: boolean;
  /** This server's id; a random one when left out. */
  serverId?: string;
  log?: Logger;
}

/**
 * The backend the configuration names: a postgres:// or postgresql:// URL is PostgreSQL; anything
 * else is a SQLite file path (the embedded default).
 */
export async function openBackend(config: Config, clock: Clock, options: OpenOptions = {}): Promise<StorageBackend> {
  if (isPostgresUrl(config.db)) return PostgresBackend.open(config.db, clock, options);
  return SqliteBackend.open(config.db, { synchronous: config.synchronous, serverId: options.serverId }, clock);
}

/** The database as the serving line shows it: "db <path>, synchronous=FULL", or "db <URL without its password>". */
export const describeDatabase = (config: Config): string =>
  isPostgresUrl(config.db) ? `db ${redactUrl(config.db)}` : `db ${config.db}, synchronous=${config.synchronous}`;

/** Whether servers may share the configured database: a PostgreSQL one, yes; a SQLite file has one server. */
export const shareable = (config: Config): boolean => isPostgresUrl(config.db);
