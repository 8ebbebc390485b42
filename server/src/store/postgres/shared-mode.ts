import type { Timer, Timers } from "@supervisor/sdk";
import type pg from "pg";
import { type Logger, shuttingDown } from "../../errors.js";
import type { ClusterStore, ServerRecord, TaskChange } from "../backend.js";
import { OrderedPublisher } from "../ordered-publisher.js";
import { guarded } from "./errors.js";
import { JournalTail } from "./journal-tail.js";
import { PostgresLeases } from "./leases.js";
import { NotificationListener } from "./notifications.js";
import { readHead } from "./queries/head.js";
import { readJournal } from "./queries/journal.js";
import { CHANNELS } from "./queries/notify.js";
import { journalChangeOf } from "./rows.js";
import { ServerRegistry } from "./server-registry.js";

export interface SharedSettings {
  serverId: string;
  /** How often this server's row is heartbeated. */
  heartbeatMs: number;
  /** How often the head is read in case a notification was lost (a lost one only delays by this much). */
  reconcileMs: number;
  timers: Timers;
  log: Logger;
}

/**
 * What a PostgreSQL backend does when other servers write the same database: it publishes their
 * commits too (the journal tail, woken by LISTEN and by a periodic head read), in revision order with
 * its own, and it keeps the cluster's tables — the leader lease, this server's heartbeat row.
 */
export class SharedMode {
  readonly cluster: ClusterStore;
  private readonly runnerListeners = new Set<() => void>();
  private readonly scheduleListeners = new Set<() => void>();
  private readonly pauseListeners = new Set<() => void>();
  private reconcileTimer: Timer | undefined;
  private reconciling = false;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly settings: SharedSettings,
    readonly publisher: OrderedPublisher,
    private readonly tail: JournalTail,
    private readonly listener: NotificationListener,
    private readonly leases: PostgresLeases,
    private readonly registry: ServerRegistry,
  ) {
    this.cluster = {
      leases,
      announce: (address) => registry.announce(address),
      listServers: (): Promise<ServerRecord[]> => registry.list(),
      forgetServer: (id) => registry.forget(id),
    };
  }

  /** LISTENs, reads the head to publish from, writes this server's row; `deliver` gets every change in order. */
  static async start(
    url: string,
    pool: pg.Pool,
    settings: SharedSettings,
    deliver: (changes: readonly TaskChange[]) => void,
  ): Promise<SharedMode> {
    let self: SharedMode | undefined;
    const listener = new NotificationListener(
      url,
      settings.serverId,
      Object.values(CHANNELS),
      {
        notified: (channel, payload) => self?.notified(channel, payload),
        reconnected: () => self?.reconnected(),
      },
      settings.timers,
      settings.log,
    );
    // LISTEN first, then the head: a commit after the head was read is heard of, one before is in it.
    await listener.start();
    const registry = new ServerRegistry(pool, settings.serverId, settings.heartbeatMs, settings.timers, settings.log);
    let shared: SharedMode;
    try {
      const publisher = new OrderedPublisher(await guarded(() => readHead(pool)), deliver);
      const tail = new JournalTail(
        async (after, limit) => (await guarded(() => readJournal(pool, after, limit))).map(journalChangeOf),
        publisher,
        settings.log,
      );
      await registry.start();
      shared = new SharedMode(pool, settings, publisher, tail, listener, new PostgresLeases(pool), registry);
    } catch (error) {
      await registry.stop();
      await listener.close();
      throw error;
    }
    self = shared;
    shared.reconcileTimer = settings.timers.every(settings.reconcileMs, () => shared.reconcile());
    return shared;
  }

  /**
   * This server committed `changes`: published now if nothing is missing before them, else once the
   * tail has read the other servers' commits before them (the promise; undefined when published now).
   */
  committed(changes: readonly TaskChange[]): Promise<void> | undefined {
    const last = changes.at(-1)!.revision;
    this.publisher.offer(changes);
    if (this.publisher.head >= last) return undefined;
    this.tail.catchUp(last);
    return this.publisher.until(last);
  }

  /** Reads the head and catches up to it (on a timer, after a reconnect, after a lost commit answer). */
  reconcile(): void {
    if (this.reconciling || this.closed) return;
    this.reconciling = true;
    readHead(this.pool)
      .then(
        (head) => this.tail.catchUp(head),
        () => {}, // the database is away: the tail and the writer say so; the next tick tries again
      )
      .finally(() => {
        this.reconciling = false;
      });
  }

  onRunnersChanged(listener: () => void): () => void {
    this.runnerListeners.add(listener);
    return () => this.runnerListeners.delete(listener);
  }

  onDispatchPausesChanged(listener: () => void): () => void {
    this.pauseListeners.add(listener);
    return () => this.pauseListeners.delete(listener);
  }

  onSchedulesChanged(listener: () => void): () => void {
    this.scheduleListeners.add(listener);
    return () => this.scheduleListeners.delete(listener);
  }

  /**
   * Publishes what the tail can still read, then stops: nothing is published after close, and a
   * commit still waiting for the changes before it is answered SHUTTING_DOWN (retry, on another server).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.reconcileTimer?.cancel();
    await this.tail.idle();
    this.publisher.fail(shuttingDown());
    await this.registry.stop();
    await this.listener.close();
  }

  private notified(channel: string, payload: string): void {
    if (channel === CHANNELS.journal) {
      const head = Number(payload);
      if (Number.isSafeInteger(head)) this.tail.catchUp(head);
    } else if (channel === CHANNELS.runners) {
      if (payload !== this.settings.serverId) this.runnersChanged();
    } else if (channel === CHANNELS.schedules) {
      if (payload !== this.settings.serverId) this.schedulesChanged();
    } else if (channel === CHANNELS.dispatchPauses) {
      if (payload !== this.settings.serverId) this.pausesChanged();
    } else if (channel === CHANNELS.leader && payload !== this.settings.serverId) {
      this.leases.releasedElsewhere();
    }
  }

  /** LISTEN is back after a gap: anything could have been said meanwhile. */
  private reconnected(): void {
    this.reconcile();
    this.runnersChanged();
    this.schedulesChanged();
    this.pausesChanged();
    this.leases.releasedElsewhere();
  }

  private runnersChanged(): void {
    for (const listener of this.runnerListeners) listener();
  }

  private pausesChanged(): void {
    for (const listener of this.pauseListeners) listener();
  }

  private schedulesChanged(): void {
    for (const listener of this.scheduleListeners) listener();
  }
}
