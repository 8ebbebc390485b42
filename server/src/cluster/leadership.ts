/**
 * Who runs what must run once (dispatch over every runner, the lease rescuer, the deadline backstop,
 * retention): the one server holding the leader lease. Its writes carry the lease's epoch, and the
 * store refuses them once another server holds a newer one, so a deposed leader's writes never commit.
 */
export interface Leadership {
  readonly serverId: string;
  /** The epoch of the lease this server holds now, or undefined when it does not lead. */
  epoch(): number | undefined;
  /** Called with true when this server starts leading, false when it stops (deposed, lost, stopped). */
  onChange(listener: (leading: boolean) => void): () => void;
  /** Resigns (deletes the lease row when held) so another server leads at once. */
  stop(): Promise<void>;
}

/** SQLite and single-server: this server always leads, epoch 1. */
export function soleLeadership(serverId: string): Leadership {
  return {
    serverId,
    epoch: () => 1,
    onChange: () => () => {},
    stop: async () => {},
  };
}
