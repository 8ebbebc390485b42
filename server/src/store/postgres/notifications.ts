import type { Timer, Timers } from "@supervisor/sdk";
import pg from "pg";
import type { Logger } from "../../errors.js";
import { connectionConfig } from "./connect.js";

export interface NotificationHandlers {
  /** A notification arrived on one of the channels. */
  notified(channel: string, payload: string): void;
  /** LISTEN is in place again after the connection was lost: whatever was sent meanwhile was missed. */
  reconnected(): void;
}

/** Reconnect delays: 100 ms doubling to 5 s, each with up to half of it taken off at random. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * The connection that LISTENs (a connection of its own: a pooled one would be handed to reads, and
 * the writer's is busy in transactions). When it drops it reconnects with backoff, then tells the
 * handler so it catches up on what it missed: a notification only wakes a reader, it is never the data.
 */
export class NotificationListener {
  private client: pg.Client | undefined;
  private closed = false;
  private failures = 0;
  private retry: Timer | undefined;

  constructor(
    private readonly url: string,
    /** The server's id, in the connection's application_name. */
    private readonly serverId: string,
    private readonly channels: readonly string[],
    private readonly handlers: NotificationHandlers,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {}

  /** Connects and LISTENs; throws if it cannot (the backend does not open without it). */
  start(): Promise<void> {
    return this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...connectionConfig(this.url, this.serverId), pipeline: false });
    let lost = false;
    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      this.lost(client, error);
    };
    // An 'error' of an idle connection would end the process without a listener.
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (message) => {
      if (this.client === client) this.handlers.notified(message.channel, message.payload ?? "");
    });
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lost = true; // what follows is the caller's to handle, not a loss of a working connection
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    this.log("the LISTEN connection to PostgreSQL was lost; reconnecting", error);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures);
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    this.retry = this.timers.after(delay, () => {
      if (this.closed) return;
      this.connect().then(
        () => {
          if (this.closed || !this.client) return;
          this.log("the LISTEN connection to PostgreSQL is back");
          this.failures = 0;
          this.handlers.reconnected();
        },
        () => {
          this.failures++;
          this.reconnectLater();
        },
      );
    });
  }
}
