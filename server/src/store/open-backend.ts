import type { Config } from "../config.js";
import type { Clock } from "../core/clock.js";
import type { StorageBackend } from "./backend.js";
import { PostgresBackend } from "./postgres/backend.js";
import { isPostgresUrl, redactUrl } from "./postgres/url.js";
import { SqliteBackend } from "./sqlite/backend.js";

/**
 * The backend the configuration names: a postgres:// or postgresql:// URL is PostgreSQL; anything
 * else is a SQLite file path (the embedded default).
 */
export async function openBackend(config: Config, clock: Clock): Promise<StorageBackend> {
  if (isPostgresUrl(config.db)) return PostgresBackend.open(config.db, clock);
  return SqliteBackend.open(config.db, { synchronous: config.synchronous }, clock);
}

/** The database as the serving line shows it: "db <path>, synchronous=FULL", or "db <URL without its password>". */
export const describeDatabase = (config: Config): string =>
  isPostgresUrl(config.db) ? `db ${redactUrl(config.db)}` : `db ${config.db}, synchronous=${config.synchronous}`;
