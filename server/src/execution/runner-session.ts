import {
  type ConnectResponse,
  type ConnectResponse_RunAck as RunAck,
  type RunnerInfo as Runner,
  RunnerState,
  type Timer,
} from "@supervisor/sdk";
import type { RunnerCandidate } from "../core/routing.js";
import type { Assignee } from "../store/decide/runs.js";

/**
 * Why the supervisor ends a runner's stream. The transport maps each kind to
 * a status the runner acts on (RUNNER_REPLACED makes it stop for good); the
 * decision is never read back out of a message text.
 */
export type CloseReason =
  | { kind: "replaced"; message: string }
  | { kind: "superseded"; message: string }
  | { kind: "lease-expired"; message: string }
  | { kind: "shutdown"; message: string }
  | { kind: "protocol"; message: string };

/** Where the engine writes to a runner: the live Connect stream, while there is one. */
export interface RunnerChannel {
  send(message: ConnectResponse): void;
  /** Ends the stream with a typed reason. */
  close(reason: CloseReason): void;
  /** The peer address, for messages about who holds a name. */
  readonly peer?: string;
}

/**
 * A runner the supervisor knows to be alive: connected now, or disconnected
 * but still within its lease (its runs are kept in case it comes back).
 */
export class RunnerSession implements RunnerCandidate, Assignee {
  /** Runs this runner owns (assigned or running). Messages about others are ignored: fencing. */
  readonly runs = new Set<string>();
  /** Its stream is here: assigns and cancels go out from this server. */
  readonly remote = false as const;
  channel: RunnerChannel | undefined;
  /** The welcome went out on the current channel: only then may anything else (an assign) follow it. */
  welcomed = false;
  draining = false;
  lastSeenMs: number;
  connectTimeMs: number;
  /** The runner process's random id (hello.instance_id): a reconnect of the same process. */
  instanceId = "";
  lease: Timer | undefined;
  /** Assigns another server made while its hello was being recorded: sent right after the welcome. */
  afterWelcome: ConnectResponse[] = [];
  /** Acks waiting to be sent in one message, by run. */
  private readonly acks = new Map<string, RunAck>();
  private ackFlushScheduled = false;

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
    return this.channel !== undefined && this.welcomed && !this.draining;
  }

  /**
   * Sends on the current stream once its welcome is out. Before that (the hello is being recorded)
   * nothing may go first; what is dropped here the hello itself deals with after its welcome: the
   * runner's reports are acknowledged then, and cancels of its runs are sent then.
   */
  send(message: ConnectResponse): void {
    if (this.welcomed) this.channel?.send(message);
  }

  /**
   * Queues "committed" for a run; acks made in one tick travel in one
   * message. Without a live stream they are dropped: the runner sends the
   * reports again after it reconnects and is acknowledged then.
   */
  ack(runId: string, outputSeq: number, finished: boolean): void {
    if (!this.channel) return;
    const queued = this.acks.get(runId);
    this.acks.set(runId, {
      runId,
      outputSeq: Math.max(outputSeq, queued?.outputSeq ?? 0),
      finished: finished || (queued?.finished ?? false),
    });
    if (this.ackFlushScheduled) return;
    this.ackFlushScheduled = true;
    setImmediate(() => {
      this.ackFlushScheduled = false;
      const runs = [...this.acks.values()];
      this.acks.clear();
      if (runs.length > 0) this.send({ message: { $case: "ack", value: { runs } } });
    });
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
      instanceId: this.instanceId,
    };
  }
}
