import { readdirSync, readFileSync } from "node:fs";
import type { ClientBase } from "pg";
import { DatabaseOpenError } from "../open-error.js";
import { LOCK_NAMESPACE, MIGRATION_LOCK } from "./locks.js";

/** server/migrations/postgres, from src/store/postgres and dist/store/postgres alike. */
const MIGRATIONS_DIR = new URL("../../../migrations/postgres/", import.meta.url);

/** Tables of the first migration: a database at version ≥ 1 without them was written by someone else. */
const OUR_TABLES = ["tasks", "journal", "meta"];

/**
 * Which migrations are applied: PostgreSQL's stand-in for SQLite's PRAGMA user_version (the
 * one table that is not in the SQLite schema). Made by the migrator, before the first migration.
 */
export const VERSIONS_TABLE = "schema_migrations";

function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort();
}

/** The newest schema version this server knows. */
export function knownSchemaVersion(): number {
  return migrationFiles().length;
}

/**
 * Brings the database's schema up to date: numbered migrations (`0001_name.sql`, ...) above the
 * applied version, each in its own transaction together with its row in schema_migrations. Every
 * transaction first takes the migration lock, so servers starting together apply each migration
 * once: the others wait, then find it applied. Refuses, before writing anything, a database that
 * is newer than this server or that holds tables of someone else. Returns the version reached.
 */
export async function migrate(client: ClientBase, where: string): Promise<number> {
  const files = migrationFiles();
  for (;;) {
    await client.query("BEGIN");
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${MIGRATION_LOCK})`);
      const current = await appliedVersion(client, where);
      if (current >= files.length) {
        await client.query("COMMIT");
        return current;
      }
      const version = current + 1;
      const name = files[version - 1]!;
      if (Number(name.slice(0, 4)) !== version) {
        throw new Error(`migration ${name} is out of sequence (expected ${version})`);
      }
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${VERSIONS_TABLE} (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      await client.query(readFileSync(new URL(name, MIGRATIONS_DIR), "utf8"));
      await client.query(`INSERT INTO ${VERSIONS_TABLE} (version, name) VALUES ($1, $2)`, [version, name]);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  }
}

/** The version applied, after checking the schema is ours and not newer than this server. */
async function appliedVersion(client: ClientBase, where: string): Promise<number> {
  const tables = (
    await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() ORDER BY table_name`,
    )
  ).rows.map((row) => row.name);
  const version = tables.includes(VERSIONS_TABLE)
    ? ((await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${VERSIONS_TABLE}`)).rows[0]!.v ?? 0)
    : 0;
  const known = knownSchemaVersion();
  if (version > known) {
    throw new DatabaseOpenError(
      `the database ${where} has schema version ${version}, newer than this server knows (${known}): ` +
        "upgrade the server, or point --db at another database",
    );
  }
  const fresh = tables.length === 0 || (version === 0 && tables.length === 1 && tables[0] === VERSIONS_TABLE);
  if (!fresh && (version === 0 || OUR_TABLES.some((table) => !tables.includes(table)))) {
    const listed = tables.join(", ");
    throw new DatabaseOpenError(
      `the database ${where} is not a supervisor database (schema version ${version}, ` +
        `tables ${listed.length > 200 ? `${listed.slice(0, 200)}…` : listed}): ` +
        "point --db at another database, or another schema (search_path)",
    );
  }
  return version;
}
