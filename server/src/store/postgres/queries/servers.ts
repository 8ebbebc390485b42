import { type Queryable, rows } from "../statement.js";

/** Writes this server's row, or moves its heartbeat (and address) on; started_at stays the first one's. */
const HEARTBEAT = `INSERT INTO servers (id, address, host, pid, started_at, heartbeat_at)
  VALUES ($1, $2, $3, $4, now(), now())
  ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat_at = excluded.heartbeat_at`;

const LIST = `SELECT id, address, host, pid,
    (extract(epoch FROM started_at) * 1000)::bigint AS started_at_ms,
    (extract(epoch FROM heartbeat_at) * 1000)::bigint AS heartbeat_at_ms,
    greatest(0, (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint) AS silent_ms
  FROM servers ORDER BY started_at, id`;

export interface ServerRow {
  id: string;
  address: string;
  host: string;
  pid: number;
  started_at_ms: number;
  heartbeat_at_ms: number;
  silent_ms: number;
}

export const heartbeat = (db: Queryable, id: string, address: string, host: string, pid: number): Promise<unknown> =>
  rows(db, HEARTBEAT, [id, address, host, pid]);

export const listServers = (db: Queryable) => rows<ServerRow>(db, LIST);

export const deleteServer = (db: Queryable, id: string): Promise<unknown> =>
  rows(db, "DELETE FROM servers WHERE id = $1", [id]);
