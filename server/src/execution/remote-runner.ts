import { type RunnerInfo as Runner, RunnerState, type Timer } from "@supervisor/sdk";
import type { RunnerCandidate } from "../core/routing.js";
import type { Assignee } from "../store/decide/runs.js";

/**
 * A runner whose stream is on another server, as the leader sees it: its stored record (kept current from
 * the runners table) and the runs the leader counts on it (from the journal), for routing and room. That
 * server sends its assigns and cancels and records its reports; the leader only decides what it runs.
 */
export class RemoteRunner implements RunnerCandidate, Assignee {
  readonly remote = true as const;
  readonly runs = new Set<string>();
  /** Whether the server holding it heartbeats. */
  holderLive = false;
  /**
   * Set while nobody serves it (its server stopped heartbeating, or it was never seen on a live one): since
   * when. Its runs are lost a lease after that unless it connects again somewhere.
   */
  orphanSinceMs: number | undefined;
  lease: Timer | undefined;

  constructor(
    public record: Runner,
    /** The server holding its stream (runners.server_id); null: none. */
    public serverId: string | null,
  ) {}

  get id(): string {
    return this.record.id;
  }
  get name(): string {
    return this.record.name;
  }
  get labels(): Record<string, string> {
    return this.record.labels;
  }
  get kinds(): readonly string[] {
    return this.record.kinds;
  }
  get capacity(): number {
    return this.record.capacity;
  }
  get instanceId(): string {
    return this.record.instanceId;
  }
  get running(): number {
    return this.runs.size;
  }
  get acceptsWork(): boolean {
    return this.holderLive && this.record.state === RunnerState.RUNNER_STATE_CONNECTED;
  }
}
