import { type ConnectResponse, type RunnerInfo as Runner, RunnerState } from "@supervisor/sdk";
import type { RunnerCandidate } from "../core/routing.js";

/** Where the engine writes to a runner: the live Connect stream, while there is one. */
export interface RunnerChannel {
  send(message: ConnectResponse): void;
  /** Ends the stream (replaced by a newer connection, or shutdown). */
  close(reason: string): void;
}

/**
 * A runner the supervisor knows to be alive: connected now, or disconnected
 * but still within its lease (its runs are kept in case it comes back).
 */
export class RunnerSession implements RunnerCandidate {
  /** Runs this runner owns (assigned or running). Messages about others are ignored: fencing. */
  readonly runs = new Set<string>();
  channel: RunnerChannel | undefined;
  draining = false;
  lastSeenMs: number;
  connectTimeMs: number;
  leaseTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    public name: string,
    public labels: Record<string, string>,
    public kinds: string[],
    public capacity: number,
    public version: string,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
    this.connectTimeMs = nowMs;
  }

  get running(): number {
    return this.runs.size;
  }

  get acceptsWork(): boolean {
    return this.channel !== undefined && !this.draining;
  }

  send(message: ConnectResponse): void {
    this.channel?.send(message);
  }

  toRunner(state?: RunnerState): Runner {
    return {
      id: this.id,
      name: this.name,
      labels: this.labels,
      kinds: this.kinds,
      capacity: this.capacity,
      running: this.running,
      state: state ?? (this.draining ? RunnerState.RUNNER_STATE_DRAINING : RunnerState.RUNNER_STATE_CONNECTED),
      connectTime: new Date(this.connectTimeMs),
      lastHeartbeatTime: new Date(this.lastSeenMs),
      version: this.version,
    };
  }
}
