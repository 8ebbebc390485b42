import { notify } from "./queries/notify.js";
import type { Queryable } from "./statement.js";

/**
 * A table clients change outside the task journal (schedules, dispatch pauses), with servers sharing the
 * database: after a change that applied, the other servers hear of it on `channel` (one statement of its
 * own, after the change committed, so never on the hot path), and this server hears of theirs. A lost
 * notification only delays: whoever follows the table also reads it again now and then.
 */
export class ChangeNotices {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: Queryable,
    private readonly channel: string,
    private readonly serverId: string,
    /** Alone on the database nobody is told anything. */
    private readonly shared: boolean,
  ) {}

  onChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Another server's change (its notification on the channel, or LISTEN back after a gap). */
  changedElsewhere(): void {
    for (const listener of this.listeners) listener();
  }

  /** Passes `change` on, and when it applied tells the other servers. */
  async told(change: Promise<boolean>): Promise<boolean> {
    const applied = await change;
    if (applied && this.shared) await notify(this.db, this.channel, this.serverId).catch(() => {});
    return applied;
  }
}
