import pg from "pg";
import type { TestProject } from "vitest/node";
import { startPostgres } from "../../scripts/postgres-cluster.mjs";
import { migrate } from "../../server/src/store/postgres/migrate.js";
import { databaseUrl } from "../helpers/database-url.js";

/** The migrated database every test database is copied from (CREATE DATABASE … TEMPLATE). */
const TEMPLATE = "supervisor_template";

declare module "vitest" {
  export interface ProvidedContext {
    /** The test cluster: its URL (database "postgres") and the migrated template's name. */
    postgres: { url: string; template: string };
  }
}

/**
 * Global setup: one real PostgreSQL for the whole run (scripts/postgres-cluster.mjs), with a
 * database at the newest schema to copy. A machine without PostgreSQL's binaries fails here, loudly:
 * the PostgreSQL tests are part of the suite, not optional.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPostgres();
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
    await admin.end();
    // Migrated by the server's own migrator; its connection is closed before any copy is made.
    const template = new pg.Client({ connectionString: databaseUrl(cluster.url, TEMPLATE) });
    await template.connect();
    await migrate(template, TEMPLATE);
    await template.end();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  project.provide("postgres", { url: cluster.url, template: TEMPLATE });
  return () => cluster.stop();
}
