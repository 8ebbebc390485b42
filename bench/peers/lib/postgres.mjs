// The PostgreSQL 15 cluster for pg-boss and graphile-worker: the repository's throwaway cluster
// (scripts/postgres-cluster.mjs: initdb in a fresh temp dir, pg_ctl on a free loopback port, socket in the
// same dir, as the `postgres` user through runuser when we are root, since initdb refuses root), with the
// durable settings written out explicitly, stopped (and removed) at the end or on any exit.
import { join } from "node:path";
import * as cluster from "../../../scripts/postgres-cluster.mjs";
import { onCleanup } from "./cleanup.mjs";
import { ensureBinary } from "./install.mjs";

const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** Everything else is PostgreSQL's default; max_connections only makes room for 4 worker pools of 18. */
export const POSTGRES_SETTINGS = {
  fsync: "on",
  synchronous_commit: "on",
  full_page_writes: "on",
  max_connections: "200",
};

/** The bin dir of PostgreSQL 15, installed first (postgresql-15) when it is missing and we may. */
function pgBinDir() {
  for (const name of ["initdb", "pg_ctl", "postgres", "psql"]) {
    ensureBinary({ candidates: [join(PG_BIN, name)], debianPackage: "postgresql-15", what: `PostgreSQL 15 ${name}` });
  }
  return PG_BIN;
}

export const postgresVersion = () => cluster.postgresVersion(pgBinDir());

/** Starts the cluster; its databases are made and dropped through psql in the `postgres` database. */
export async function startPostgres() {
  let postgres;
  try {
    postgres = await cluster.startPostgres({ bin: pgBinDir(), settings: POSTGRES_SETTINGS });
  } catch (error) {
    throw new Error(`PostgreSQL did not start: ${error.message}`);
  }
  const undo = onCleanup(`PostgreSQL on port ${postgres.port}`, () => postgres.stopSync());
  const psql = (sql) => postgres.psql("postgres", sql);
  return {
    port: postgres.port,
    /** A postgres:// URL for `database`, over TCP on loopback like the other systems' clients. */
    url: (database) => `postgres://postgres@127.0.0.1:${postgres.port}/${database}`,
    /** CPU ticks of the server processes so far (for the machine-load meter). */
    cpuTicks: () => postgres.cpuTicks(),
    /** The settings as the running server reports them. */
    showSettings: () =>
      Object.fromEntries(
        ["fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers", "max_connections"].map(
          (name) => [name, psql(`SHOW ${name}`)],
        ),
      ),
    /** A fresh, empty database; drop it with `dropDatabase`. */
    createDatabase: (name) => psql(`CREATE DATABASE ${name}`),
    dropDatabase: (name) => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    /** So that a timed checkpoint of earlier work does not land inside the next measurement. */
    checkpoint: () => psql("CHECKPOINT"),
    stop: () => undo(),
  };
}
