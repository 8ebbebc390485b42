import type { LeaseRecord, LeaseStore } from "../backend.js";
import { guarded } from "./errors.js";
import { currentLease, elect, renew, resign } from "./queries/leader.js";
import type { Queryable } from "./statement.js";

/** The leader lease in the `leader` table (queries/leader.ts), each call one statement on the pool. */
export class PostgresLeases implements LeaseStore {
  private readonly released = new Set<() => void>();

  constructor(private readonly db: Queryable) {}

  elect(serverId: string, ttlMs: number): Promise<number | undefined> {
    return guarded(() => elect(this.db, serverId, ttlMs));
  }

  renew(serverId: string, epoch: number, ttlMs: number): Promise<boolean> {
    return guarded(() => renew(this.db, serverId, epoch, ttlMs));
  }

  async resign(serverId: string, epoch: number): Promise<void> {
    await guarded(() => resign(this.db, serverId, epoch));
  }

  async current(): Promise<LeaseRecord | undefined> {
    const lease = await guarded(() => currentLease(this.db));
    return lease && { serverId: lease.server_id, epoch: lease.epoch, held: lease.held };
  }

  onReleased(listener: () => void): () => void {
    this.released.add(listener);
    return () => this.released.delete(listener);
  }

  /** Another server resigned (its notification on CHANNELS.leader). */
  releasedElsewhere(): void {
    for (const listener of this.released) listener();
  }
}
