import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { databaseUrl } from "./database-url.js";

export interface TestDatabase {
  name: string;
  /** postgres://…/<name>: what a server's --db is given. */
  url: string;
  /** Drops it, ending any session still connected to it. */
  drop(): Promise<void>;
}

/** Runs statements one by one on a connection of its own to `url`; resolves with the rows of the last. */
export async function runSql(url: string, statements: string[]): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const sql of statements) rows = (await client.query(sql)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

/** Runs statements on the test cluster's maintenance database. */
async function onCluster(statements: string[]): Promise<void> {
  await runSql(inject("postgres").url, statements);
}

/**
 * A fresh database of the test cluster (test/setup/postgres.ts): a copy of the migrated template,
 * or an empty one (`migrated: false`) for tests of the migrations themselves.
 */
export async function freshDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const { url, template } = inject("postgres");
  const name = `test_${process.pid}_${randomBytes(6).toString("hex")}`;
  await onCluster([`CREATE DATABASE ${name}${options.migrated === false ? "" : ` TEMPLATE ${template}`}`]);
  return {
    name,
    url: databaseUrl(url, name),
    drop: () => onCluster([`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}
