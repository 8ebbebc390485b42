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
  /** `stop`, done before it returns: for an exit handler, which cannot wait. */
  stopSync(): void;
  /** Runs `sql` in `database` with psql over the unix socket; its output, trimmed. */
  psql(database: string, sql: string): string;
  /** CPU ticks (/proc) of the server's processes so far: the postmaster, its backends and the exited ones. */
  cpuTicks(): number;
}

export interface PostgresOptions {
  /** max_connections (default 300). */
  maxConnections?: number;
  /** The bin dir of the PostgreSQL to run (default: postgresBinDir()). */
  bin?: string;
  /** More server settings (`-c name=value`), over the defaults. */
  settings?: Record<string, string>;
}

export function postgresBinDir(): string;
/** What `postgres --version` says of the server in `bin` (default: postgresBinDir()). */
export function postgresVersion(bin?: string): string;
export function startPostgres(options?: PostgresOptions): Promise<PostgresCluster>;
