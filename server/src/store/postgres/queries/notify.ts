import { type Queryable, rows } from "../statement.js";

/** Channels the servers sharing a database tell each other on (LISTEN in notifications.ts). */
export const CHANNELS = {
  /** A write transaction moved the head: the payload is the new head. */
  journal: "supervisor_journal",
  /** A write transaction changed the runners table: the payload is the writing server's id. */
  runners: "supervisor_runners",
  /** A client's change of a schedule (create, update, pause, delete): the payload is the writing server's id. */
  schedules: "supervisor_schedules",
  /** A client's PauseDispatch or ResumeDispatch: the payload is the writing server's id. */
  dispatchPauses: "supervisor_dispatch_pauses",
  /** A leader resigned: the payload is its server id. */
  leader: "supervisor_leader",
} as const;

/**
 * Sends a notification; PostgreSQL delivers it to the listeners when the transaction commits (never
 * if it rolls back). Sent once per transaction, not per row: each one queues work at commit time.
 */
export const notify = (db: Queryable, channel: string, payload: string): Promise<unknown> =>
  rows(db, "SELECT pg_notify($1, $2)", [channel, payload]);
