/** A running throwaway cluster (scripts/postgres-cluster.mjs). */
export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  /** The cluster's temp dir: its data, its log (postgres.log) and its unix socket. */
  socketDir: string;
  /** The bin dir of the PostgreSQL it runs. */
  bin: string;
  /** Shuts it down (fast) and removes its dir. */
  stop(): Promise<void>;
}

export function postgresBinDir(): string;
export function startPostgres(options?: { maxConnections?: number }): Promise<PostgresCluster>;
