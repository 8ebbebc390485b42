// Which storage backend the supervisor under test runs on: SQLite (the default: a fresh file per pass)
// or PostgreSQL (`--backend postgres`: one throwaway PostgreSQL cluster for the whole run, from
// scripts/postgres-cluster.mjs, and a fresh database per pass, dropped when the pass stops).
import { startPostgres } from "../../scripts/postgres-cluster.mjs";
import { pg } from "./deps.mjs";

export const BACKENDS = ["sqlite", "postgres"];

let backend = "sqlite";
let cluster;
let databases = 0;

/** The backend of this run: "sqlite" or "postgres". */
export const currentBackend = () => backend;

/** Results of a non-default backend go to bench/results/<scenario>-<backend>.json, beside SQLite's. */
export const resultName = (scenario) => (backend === "sqlite" ? scenario : `${scenario}-${backend}`);

/** Chooses the backend; for PostgreSQL, starts the cluster (stopped by `stopBackend`). */
export async function useBackend(name) {
  if (!BACKENDS.includes(name)) throw new Error(`unknown backend "${name}"; one of: ${BACKENDS.join(", ")}`);
  backend = name;
  if (name === "postgres" && !cluster) {
    cluster = await startPostgres();
    const version = (await admin((c) => c.query("SHOW server_version"))).rows[0].server_version;
    console.log(`PostgreSQL ${version} (${cluster.bin}) on 127.0.0.1:${cluster.port}: fsync and synchronous_commit on`);
  }
}

export async function stopBackend() {
  await cluster?.stop();
  cluster = undefined;
}

async function admin(work) {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const urlOf = (database) => cluster.url.replace(/\/postgres$/, `/${database}`);

/**
 * A fresh, empty database for one supervisor (it migrates it on start): its URL and `drop()`.
 * Only for the PostgreSQL backend.
 */
export async function freshDatabase() {
  if (!cluster) throw new Error("no PostgreSQL cluster: call useBackend('postgres') first");
  const name = `bench_${process.pid}_${++databases}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  // A checkpoint of the previous pass's writes must not land inside this one's measurement.
  await admin((c) => c.query("CHECKPOINT"));
  return {
    url: urlOf(name),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** A pg client on a database of the cluster (the list scenario's SQL baselines). */
export async function connectDatabase(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * CPU ticks the PostgreSQL cluster has used so far (the postmaster, its live backends, and the exited
 * ones it reaped). pg_ctl daemonizes the server, so without this the machine-load meter would count
 * PostgreSQL's work for the bench as "other processes".
 */
export const backendTicks = () => cluster?.cpuTicks() ?? 0;
