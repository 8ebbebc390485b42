import pg from "pg";
import { connectionConfig } from "./connect.js";
import { inUseError, tryWriterLock } from "./lock.js";

/**
 * The one connection every write transaction runs on, holding the writer lock (lock.ts). Opened at
 * start-up; when it breaks (PostgreSQL restarted, the network dropped it) the next transaction opens
 * another and takes the lock again, so the server recovers by itself once the database is back.
 */
export class Writer {
  private client: pg.Client | undefined;
  private broken = false;

  constructor(
    private readonly url: string,
    private readonly where: string,
    /** Other servers write the database too: the lock is taken in shared mode (lock.ts). */
    private readonly shared: boolean,
    /** The server's id, in its connection's application_name. */
    private readonly serverId: string,
  ) {}

  /**
   * The connection, holding the lock; `fresh` when it was opened just now (the caller checks what
   * committed while there was none). Throws DatabaseInUseError when another server holds the lock.
   */
  async connection(): Promise<{ client: pg.Client; fresh: boolean }> {
    if (this.client && !this.broken) return { client: this.client, fresh: false };
    this.discard();
    const client = new pg.Client(connectionConfig(this.url, this.serverId));
    // A connection that fails while idle emits 'error' (unhandled, it would end the process).
    const lost = () => {
      if (this.client === client) this.broken = true;
    };
    client.on("error", lost);
    client.on("end", lost);
    await client.connect();
    try {
      // The answer to a write comes after its commit is durable, whatever the server's default.
      await client.query("SET synchronous_commit = on");
      if (!(await tryWriterLock(client, this.shared))) throw await inUseError(client, this.where, this.shared);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.client = client;
    this.broken = false;
    return { client, fresh: true };
  }

  /** The connection failed under a transaction: the next one starts on a new connection. */
  markBroken(): void {
    this.broken = true;
  }

  /** Ends the connection; PostgreSQL releases the lock with it. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private discard(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
  }
}
