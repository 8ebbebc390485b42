import { hostname } from "node:os";
import pg from "pg";

const INT8 = 20;

/**
 * How result columns are parsed. bigint columns (ms times, revisions, counts) come back as
 * numbers, not strings: every value stored here is far below 2^53. The rest as pg parses them
 * (bytea as Buffer, jsonb as objects).
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8 ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * Who a connection belongs to, as pg_stat_activity shows it: a refused server can name the holder, and an
 * election can tell that a lease's holder has no session left (queries/leader.ts: it starts with the server's
 * id). PostgreSQL keeps 63 bytes of it.
 */
export const applicationName = (serverId: string): string =>
  `supervisor ${serverId} pid ${process.pid} on ${hostname()}`.slice(0, 63);

/**
 * Settings every connection of the backend shares. Pipelined: queries sent one after another on a
 * connection go out without waiting for the answers before them (a batch's statements cost one
 * round trip, not one each).
 */
export const connectionConfig = (url: string, serverId: string): pg.ClientConfig => ({
  connectionString: url,
  application_name: applicationName(serverId),
  types: TYPES,
  pipeline: true,
  keepAlive: true,
  connectionTimeoutMillis: 10_000,
});

/** Reads run on a small pool; writes on the writer's own connection (postgres/writer.ts). */
export const READ_POOL_SIZE = 8;

export function readPool(url: string, serverId: string): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(url, serverId), max: READ_POOL_SIZE, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (PostgreSQL restarted) is dropped by the pool; the next read opens another.
  // Without a listener the 'error' event would end the process.
  pool.on("error", () => {});
  return pool;
}
