/** A running throwaway cluster (scripts/postgres-cluster.mjs). */
export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  /** The cluster's temp dir: its data, its log (postgres.log) and its unix socket. */
  socketDir: string;
  /** The bin dir of the PostgreSQL it runs. */
  bin: string;
  /**
   * Shuts the server down, leaving the cluster in place: `halt` then `resume` is a PostgreSQL restart.
   * "fast" (the default) ends every session; "immediate" quits at once, as a crash would (the next start
   * recovers from the WAL); "smart" waits for the sessions to end.
   */
  halt(mode?: "smart" | "fast" | "immediate"): Promise<void>;
  /** Starts a halted server again on the same port and settings; resolves once it accepts connections. */
  resume(): Promise<void>;
  /** Shuts it down (fast) and removes its dir. */
  stop(): Promise<void>;
}

export function postgresBinDir(): string;
export function startPostgres(options?: { maxConnections?: number }): Promise<PostgresCluster>;
