import { type Queryable, row, rows } from "../statement.js";
import { CHANNELS } from "./notify.js";

/** The one lease row's key (a table of one row per database, as River's river_leader). */
const LEASE = "default";

/**
 * Takes the lease when there is none, it expired, it is this server's own (a new term either
 * way: the epoch grows, so a fencing token is never given twice), or its holder has no session
 * left in the database (its process died: every connection of a server names its id first in
 * application_name, connect.ts), so a server restarted after a SIGKILL leads at once instead of
 * waiting out its dead predecessor's lease. A holder that is alive but lost its connections for a
 * moment may lose the lease this way; the fence in every leader write keeps that safe. `_` and `%`
 * in an id only widen the match (the holder counts as alive). One statement: the conflict's row lock
 * makes two servers electing at once take turns, and the second sees the first's lease.
 */
const ELECT = `INSERT INTO leader AS l (name, server_id, epoch, elected_at, expires_at)
  VALUES ($1, $2, 1, now(), now() + $3::bigint * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE
  SET server_id = excluded.server_id, epoch = l.epoch + 1, elected_at = excluded.elected_at,
      expires_at = excluded.expires_at
  WHERE l.expires_at < now() OR l.server_id = excluded.server_id
    OR NOT EXISTS (
      SELECT 1 FROM pg_stat_activity
      WHERE application_name LIKE left('supervisor ' || l.server_id || ' ', 63) || '%'
    )
  RETURNING epoch`;

const RENEW = `UPDATE leader SET expires_at = now() + $4::bigint * interval '1 millisecond'
  WHERE name = $1 AND server_id = $2 AND epoch = $3 AND expires_at >= now()
  RETURNING epoch`;

/** Marks the lease expired (the row stays: it holds the epoch) and wakes the other servers' electors. */
const RESIGN = `WITH resigned AS (
    UPDATE leader SET expires_at = '-infinity' WHERE name = $1 AND server_id = $2 AND epoch = $3
    RETURNING server_id
  )
  SELECT pg_notify('${CHANNELS.leader}', server_id) FROM resigned`;

const CURRENT = "SELECT server_id, epoch, expires_at >= now() AS held FROM leader WHERE name = $1";

/**
 * Fails with division by zero (22012, NOT_HELD) unless the lease is held by this server with this
 * epoch, and locks its row (FOR SHARE) until the transaction ends: no other server can take the lease
 * before this transaction has committed or rolled back, so no write of a term commits after the next
 * term began. A failing statement, because it is sent pipelined with the writes and COMMIT: only an
 * error can stop those.
 */
const FENCE = `SELECT 1 / count(*)::int AS held FROM (
    SELECT 1 FROM leader
    WHERE name = $1 AND server_id = $2 AND epoch = $3 AND expires_at >= clock_timestamp()
    FOR SHARE
  ) AS lease`;

/** The SQLSTATE the fence fails with when the lease is not held. */
export const NOT_HELD = "22012";

export const elect = async (db: Queryable, serverId: string, ttlMs: number): Promise<number | undefined> =>
  (await row<{ epoch: number }>(db, ELECT, [LEASE, serverId, Math.round(ttlMs)]))?.epoch;

export const renew = async (db: Queryable, serverId: string, epoch: number, ttlMs: number): Promise<boolean> =>
  (await rows(db, RENEW, [LEASE, serverId, epoch, Math.round(ttlMs)])).length > 0;

export const resign = (db: Queryable, serverId: string, epoch: number): Promise<unknown> =>
  rows(db, RESIGN, [LEASE, serverId, epoch]);

export const currentLease = (db: Queryable) =>
  row<{ server_id: string; epoch: number; held: boolean }>(db, CURRENT, [LEASE]);

export const fence = (db: Queryable, serverId: string, epoch: number): Promise<unknown> =>
  rows(db, FENCE, [LEASE, serverId, epoch]);
