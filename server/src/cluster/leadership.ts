/**
 * Who runs what must run once among the servers sharing a database: dispatch over all runners, the
 * lease rescuer, the deadline backstop, retention. Every write of a leader-only part carries the
 * epoch (WriteSet.leaderEpoch), so a server that lost the lead cannot commit one.
 */
export interface Leadership {
  readonly serverId: string;
  /** The epoch of the lease this server holds now, or undefined when it does not lead. */
  epoch(): number | undefined;
  /** Called with true when this server starts leading, false when it stops (deposed, lost, stopped). */
  onChange(listener: (leading: boolean) => void): () => void;
  /** Resigns (gives the lease up when held) so another server leads at once. */
  stop(): Promise<void>;
}

/** SQLite and single-server: this server always leads, epoch 1. */
export function soleLeadership(serverId: string): Leadership {
  let leading = true;
  const listeners = new Set<(leading: boolean) => void>();
  return {
    serverId,
    epoch: () => (leading ? 1 : undefined),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      if (!leading) return;
      leading = false;
      for (const listener of listeners) listener(false);
    },
  };
}
