import { SYSTEM_TIMERS, type Timer, type Timers } from "@supervisor/sdk";
import type { Logger } from "../errors.js";
import type { LeaseStore } from "../store/backend.js";
import type { Leadership } from "./leadership.js";

export interface ElectorOptions {
  /**
   * How long a lease lasts unless renewed, by the database's clock (default 5 s): a leader that dies
   * without resigning is replaced after at most this plus one election interval.
   */
  ttlMs?: number;
  /**
   * How often the leader renews and a follower tries to take the lease (default a quarter of the
   * TTL: a killed leader is replaced within TTL + a quarter, and a leader may miss two renewals
   * before it stops trusting its lease).
   */
  intervalMs?: number;
  timers?: Timers;
  /** A monotonic clock for the leader's own trust in its lease (default performance.now). */
  now?: () => number;
  log?: Logger;
}

export const DEFAULT_LEASE_TTL_MS = 5_000;

/** A renewal that failed (the database did not answer) is tried again after this, while the lease may last. */
const RETRY_MS = 250;
/** After another server resigned, electors wait up to this at random so they do not all ask at once. */
const RELEASED_JITTER_MS = 50;

interface Term {
  epoch: number;
  /** By the local monotonic clock: past this the lease may have expired in the database (not renewed in time). */
  trustedUntil: number;
  expiry: Timer | undefined;
}

/**
 * Leader election on a lease row (River's elector, internal/leadership/elector.go, is the model):
 * a follower tries to take the lease every interval (and at once when the leader resigns); the leader
 * renews it every interval. Expiry is the database's clock, so servers' clocks never have to agree.
 * The leader also stops trusting its lease on its own clock a safety margin before it could have
 * expired (counted from when the last successful renewal was sent), so it stops leading-only work
 * before another server can start it; the epoch check in every leader write (WriteSet.leaderEpoch)
 * covers what is in flight.
 */
export class LeaseElector implements Leadership {
  private readonly listeners = new Set<(leading: boolean) => void>();
  private readonly ttlMs: number;
  private readonly intervalMs: number;
  private readonly marginMs: number;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly log: Logger;
  private term: Term | undefined;
  private next: Timer | undefined;
  private busy: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private readonly offReleased: () => void;

  constructor(
    private readonly leases: LeaseStore,
    readonly serverId: string,
    options: ElectorOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.intervalMs = options.intervalMs ?? Math.max(10, Math.floor(this.ttlMs / 4));
    // River keeps 1 s of a 15 s+ TTL; here a fifth of the TTL, at most a second.
    this.marginMs = Math.min(1_000, this.ttlMs / 5);
    this.timers = options.timers ?? SYSTEM_TIMERS;
    this.now = options.now ?? (() => performance.now());
    this.log = options.log ?? (() => {});
    this.offReleased = leases.onReleased(() => {
      if (!this.term && !this.stopped) this.schedule(Math.random() * RELEASED_JITTER_MS);
    });
    this.schedule(0);
  }

  epoch(): number | undefined {
    const term = this.term;
    // Past its trust the lease is not used even before the expiry timer has run.
    return term && this.now() < term.trustedUntil ? term.epoch : undefined;
  }

  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.next?.cancel();
    this.offReleased();
    await this.busy;
    const term = this.term;
    if (!term) return;
    this.endTerm();
    await this.leases.resign(this.serverId, term.epoch).catch((error) => {
      this.log("resigning the leader lease failed (another server leads once it expires)", error);
    });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.next?.cancel();
    this.next = this.timers.after(delayMs, () => {
      if (this.stopped || this.busy) return;
      this.busy = (this.term ? this.renew(this.term) : this.elect()).finally(() => {
        this.busy = undefined;
      });
    });
  }

  private async elect(): Promise<void> {
    const sentAt = this.now();
    let epoch: number | undefined;
    try {
      epoch = await this.leases.elect(this.serverId, this.ttlMs);
      this.recovered();
    } catch (error) {
      this.failed("electing a leader failed (retrying)", error);
    }
    if (this.stopped) {
      // stop() came while the election was in flight: let go of a lease it won.
      if (epoch !== undefined) await this.leases.resign(this.serverId, epoch).catch(() => {});
      return;
    }
    if (epoch === undefined) {
      // A little jitter, so followers that started together do not ask in step forever.
      this.schedule(this.intervalMs * (0.9 + Math.random() * 0.2));
      return;
    }
    const term: Term = { epoch, trustedUntil: sentAt + this.ttlMs - this.marginMs, expiry: undefined };
    this.term = term;
    this.armExpiry(term);
    this.log(`this server leads (epoch ${epoch})`, undefined, { epoch });
    this.emit(true);
    this.schedule(this.intervalMs);
  }

  private async renew(term: Term): Promise<void> {
    const sentAt = this.now();
    let held: boolean;
    try {
      held = await this.leases.renew(this.serverId, term.epoch, this.ttlMs);
      this.recovered();
    } catch (error) {
      this.failed("renewing the leader lease failed (retrying)", error);
      if (this.term !== term) return;
      const trustLeftMs = term.trustedUntil - this.now();
      if (trustLeftMs > 0) this.schedule(Math.min(RETRY_MS, trustLeftMs));
      else {
        this.log(`this server no longer leads: the lease of epoch ${term.epoch} could not be renewed`, undefined, {
          level: "warn",
          epoch: term.epoch,
        });
        this.endTerm();
        this.schedule(this.intervalMs);
      }
      return;
    }
    if (this.term !== term || this.stopped) return;
    if (!held) {
      this.log(`this server no longer leads: the lease of epoch ${term.epoch} is gone`, undefined, {
        level: "warn",
        epoch: term.epoch,
      });
      this.endTerm();
      this.schedule(0);
      return;
    }
    term.trustedUntil = sentAt + this.ttlMs - this.marginMs;
    this.armExpiry(term);
    this.schedule(this.intervalMs);
  }

  /** Steps down when the lease was not renewed in time (the database was not reachable). */
  private armExpiry(term: Term): void {
    term.expiry?.cancel();
    term.expiry = this.timers.after(term.trustedUntil - this.now(), () => {
      if (this.term !== term || this.now() < term.trustedUntil) return;
      this.log(`this server no longer leads: the lease of epoch ${term.epoch} was not renewed in time`, undefined, {
        level: "warn",
        epoch: term.epoch,
      });
      this.endTerm();
      this.schedule(0);
    });
  }

  private endTerm(): void {
    this.term?.expiry?.cancel();
    this.term = undefined;
    this.emit(false);
  }

  private emit(leading: boolean): void {
    for (const listener of this.listeners) listener(leading);
  }

  private failed(what: string, error: unknown): void {
    if (!this.failing) this.log(what, error);
    this.failing = true;
  }

  private recovered(): void {
    this.failing = false;
  }
}
