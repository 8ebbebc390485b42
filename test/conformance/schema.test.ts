import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { knownSchemaVersion as knownPostgresVersion, migrate } from "../../server/src/store/postgres/migrate.js";
import { openDatabase } from "../../server/src/store/sqlite/open.js";
import { freshDatabase, type TestDatabase } from "../helpers/postgres.js";
import { tempDir } from "../helpers/server.js";

const MIGRATIONS = new URL("../../server/migrations/", import.meta.url).pathname;
const migrationNames = (backend: string) => readdirSync(join(MIGRATIONS, backend)).sort();

/** A schema as both backends can describe it: tables, their columns, their keys and indexes. */
interface Schema {
  version: number;
  /** table → its columns in order, "name" or "name?" when it may be NULL. */
  columns: Record<string, string[]>;
  /** table → its primary key's columns. */
  primaryKeys: Record<string, string[]>;
  /** Indexes made by CREATE INDEX, by name: "table(columns) unique? partial?". */
  indexes: Record<string, string>;
  /** Indexes behind UNIQUE constraints, which each database names its own way: "table(columns)". */
  uniqueConstraints: string[];
}

const indexShape = (table: string, columns: string[], unique: boolean, partial: boolean) =>
  `${table}(${columns.join(", ")})${unique ? " unique" : ""}${partial ? " partial" : ""}`;

function sqliteSchema(): Schema {
  const dir = tempDir("supervisor-schema-");
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, "supervisor.db"), { synchronous: "NORMAL" });
  try {
    const all = <R>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as R[];
    const tables = all<{ name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).map((row) => row.name);
    const schema: Schema = {
      version: db.pragma("user_version", { simple: true }) as number,
      columns: {},
      primaryKeys: {},
      indexes: {},
      uniqueConstraints: [],
    };
    for (const table of tables) {
      const columns = all<{ name: string; notnull: number; pk: number }>(
        'SELECT name, "notnull", pk FROM pragma_table_info(?) ORDER BY cid',
        table,
      );
      // A primary key column is never NULL (PostgreSQL says so; SQLite only enforces it).
      schema.columns[table] = columns.map((c) => (c.notnull || c.pk ? c.name : `${c.name}?`));
      schema.primaryKeys[table] = columns
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      for (const index of all<{ name: string; unique: number; origin: string; partial: number }>(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?)',
        table,
      )) {
        if (index.origin === "pk") continue;
        const columnsOf = all<{ name: string }>("SELECT name FROM pragma_index_info(?) ORDER BY seqno", index.name).map(
          (c) => c.name,
        );
        if (index.origin === "u") schema.uniqueConstraints.push(`${table}(${columnsOf.join(", ")})`);
        else schema.indexes[index.name] = indexShape(table, columnsOf, index.unique === 1, index.partial === 1);
      }
    }
    schema.uniqueConstraints.sort();
    return schema;
  } finally {
    db.close();
  }
}

async function postgresSchema(client: pg.ClientBase): Promise<Schema> {
  const all = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await client.query<R>(sql, params)).rows;
  const tables = (
    await all<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
       ORDER BY table_name`,
    )
  ).map((row) => row.name);
  const [applied] = await all<{ version: number }>("SELECT max(version) AS version FROM schema_migrations");
  const schema: Schema = {
    version: applied!.version,
    columns: {},
    primaryKeys: {},
    indexes: {},
    uniqueConstraints: [],
  };
  for (const table of tables) {
    const columns = await all<{ name: string; nullable: string }>(
      `SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    schema.columns[table] = columns.map((c) => (c.nullable === "YES" ? `${c.name}?` : c.name));
    const indexes = await all<{
      name: string;
      columns: string[];
      unique: boolean;
      primary: boolean;
      partial: boolean;
      constraint: boolean;
    }>(
      `SELECT i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
              ix.indpred IS NOT NULL AS partial,
              EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) AS constraint,
              array(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace`,
      [table],
    );
    for (const index of indexes) {
      if (index.primary) schema.primaryKeys[table] = index.columns;
      else if (index.constraint) schema.uniqueConstraints.push(`${table}(${index.columns.join(", ")})`);
      else schema.indexes[index.name] = indexShape(table, index.columns, index.unique, index.partial);
    }
  }
  schema.uniqueConstraints.sort();
  return schema;
}

/** A database for this test, dropped after it; `connect()` gives a client on it, ended after the test. */
async function database(migrated: boolean): Promise<TestDatabase & { connect(): Promise<pg.Client> }> {
  const made = await freshDatabase({ migrated });
  onTestFinished(() => made.drop());
  return {
    ...made,
    async connect() {
      const client = new pg.Client({ connectionString: made.url });
      await client.connect();
      onTestFinished(() => client.end());
      return client;
    },
  };
}

describe("the PostgreSQL migrations match the SQLite ones", () => {
  it("both folders hold the same numbered migrations", () => {
    const sqlite = migrationNames("sqlite");
    expect(migrationNames("postgres")).toEqual(sqlite);
    expect(sqlite.length).toBeGreaterThan(0);
    expect(knownPostgresVersion()).toBe(sqlite.length);
  });

  it("migrated, both have the same version, tables, columns, keys and indexes", async () => {
    const db = await database(false);
    const client = await db.connect();
    expect(await migrate(client, db.name)).toBe(migrationNames("postgres").length);
    const postgres = await postgresSchema(client);
    const sqlite = sqliteSchema();
    expect(postgres).toEqual(sqlite);
    expect(postgres.version).toBe(migrationNames("sqlite").length);
    // Not vacuous: the comparison saw the schema.
    expect(Object.keys(sqlite.columns)).toContain("tasks");
    expect(Object.keys(sqlite.indexes)).toContain("tasks_pending");
    expect(sqlite.uniqueConstraints).toContain("runs(task_id, attempt)");
  });
});

describe("PostgreSQL migrations", () => {
  it("servers starting together each migrate: every migration is applied once, and all end at the newest", async () => {
    const db = await database(false);
    const clients = await Promise.all([1, 2, 3, 4].map(() => db.connect()));
    const versions = await Promise.all(clients.map((client) => migrate(client, db.name)));
    const newest = migrationNames("postgres").length;
    expect(versions).toEqual([newest, newest, newest, newest]);
    const { rows } = await clients[0]!.query("SELECT version, name FROM schema_migrations ORDER BY version");
    expect(rows).toEqual(migrationNames("postgres").map((name, index) => ({ version: index + 1, name })));
  });

  it("a database already at the newest version is left as it is", async () => {
    const db = await database(true);
    const client = await db.connect();
    const before = (await client.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")).rows;
    expect(await migrate(client, db.name)).toBe(migrationNames("postgres").length);
    expect((await client.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")).rows).toEqual(
      before,
    );
  });

  it("a database of someone else's tables is refused, and nothing is added to it", async () => {
    const db = await database(false);
    const client = await db.connect();
    await client.query("CREATE TABLE customers (id integer PRIMARY KEY)");
    await expect(migrate(client, db.name)).rejects.toThrow(
      `the database ${db.name} is not a supervisor database (schema version 0, tables customers)`,
    );
    const { rows } = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    );
    expect(rows).toEqual([{ table_name: "customers" }]);
  });

  it("a database of a newer schema than this server knows is refused", async () => {
    const db = await database(true);
    const client = await db.connect();
    const newer = migrationNames("postgres").length + 1;
    await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')", [newer]);
    await expect(migrate(client, db.name)).rejects.toThrow(
      `the database ${db.name} has schema version ${newer}, newer than this server knows`,
    );
  });
});
