import {
  type ConnectRequest_Hello as Hello,
  type RunnerInfo as Runner,
  RunnerState,
  type Timers,
} from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { IdGenerator } from "../core/ids.js";
import { type Logger, runnerConnected, runnerNameInUse, runnerNotFound } from "../errors.js";
import type { StorageBackend } from "../store/backend.js";
import type { GroupCommit } from "../store/group-commit.js";
import { deleteRunnerWrite, putRunnerWrite } from "../store/writes.js";
import { type RunnerChannel, RunnerSession } from "./runner-session.js";

export interface RegistrySettings {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
}

export interface RegistryEvents {
  /** A runner connected or changed (labels, kinds, capacity): routing must look again. */
  changed(session: RunnerSession): void;
  /** A runner's room may have changed (channel, drain). */
  roomChanged(session: RunnerSession): void;
  /** Its lease ran out: it is gone, with its runs. */
  expired(session: RunnerSession): Promise<void>;
}

/** A timer this late means the process was stalled (SIGSTOP, a long synchronous stretch). */
const STALL_MS = 1_000;

/**
 * The runners the supervisor knows to be alive — connected, or disconnected
 * but within their lease — by id and by name; who may take a name; and the
 * leases. A lease is judged lazily: a timer at the earliest moment it could
 * run out, re-armed from the last message seen; a timer that fires far too
 * late means this process was stalled, and the verdict waits until the
 * heartbeats queued meanwhile have been read.
 */
export class RunnerRegistry {
  private readonly byId = new Map<string, RunnerSession>();
  private readonly byName = new Map<string, RunnerSession>();
  /** Runners whose lease expiry is still being written: they cannot be forgotten yet. */
  private readonly expiring = new Set<string>();
  private stopped = false;

  constructor(
    private readonly backend: StorageBackend,
    private readonly commits: GroupCommit,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly settings: RegistrySettings,
    private readonly events: RegistryEvents,
    private readonly log: Logger,
  ) {}

  get(runnerId: string): RunnerSession | undefined {
    return this.byId.get(runnerId);
  }

  all(): IterableIterator<RunnerSession> {
    return this.byId.values();
  }

  /** A runner of active runs, restored at start-up: it has one lease to come back and claim them. */
  restore(runnerId: string, stored: Runner | undefined, fallbackName: string): RunnerSession {
    const existing = this.byId.get(runnerId);
    if (existing) return existing;
    const session = new RunnerSession(
      runnerId,
      stored?.name ?? fallbackName,
      stored?.labels ?? {},
      stored?.kinds ?? [],
      stored?.capacity ?? 1,
      stored?.version ?? "",
      this.clock.now(),
    );
    this.add(session);
    this.armLease(session, this.settings.leaseTtlMs);
    return session;
  }

  /**
   * A hello. A known name keeps its id. While the name's holder is connected
   * and alive, a hello from another instance is refused (two live runners
   * never take turns with one name); the same instance, or a holder gone
   * silent, is replaced.
   */
  async admit(hello: Hello, channel: RunnerChannel): Promise<RunnerSession> {
    const nowMs = this.clock.now();
    let session = this.byName.get(hello.name);
    if (session?.channel && session.channel !== channel) {
      const sameInstance = hello.instanceId !== "" && hello.instanceId === session.instanceId;
      const alive = nowMs - session.lastSeenMs < 2 * this.settings.heartbeatIntervalMs;
      if (!sameInstance && alive) throw runnerNameInUse(hello.name, session.channel.peer);
      session.channel.close(
        sameInstance
          ? { kind: "superseded", message: "this runner reconnected on a new stream" }
          : {
              kind: "replaced",
              message: `runner ${hello.name} connected again from a new process; this one went silent`,
            },
      );
    }
    if (session) {
      session.labels = hello.labels;
      session.kinds = hello.kinds;
      session.capacity = hello.capacity;
      session.version = hello.version;
      session.connectTimeMs = nowMs;
    } else {
      const known = await this.backend.getRunnerByName(hello.name);
      session = this.byName.get(hello.name); // another hello may have won the await
      if (session?.channel) throw runnerNameInUse(hello.name, session.channel.peer);
      session ??= new RunnerSession(
        known?.id ?? this.ids.next(),
        hello.name,
        hello.labels,
        hello.kinds,
        hello.capacity,
        hello.version,
        nowMs,
      );
      this.add(session);
    }
    session.instanceId = hello.instanceId;
    session.channel = channel;
    session.welcomed = false;
    session.draining = false;
    session.lastSeenMs = nowMs;
    this.events.changed(session);
    this.armLease(session, this.settings.leaseTtlMs);
    return session;
  }

  /** The welcome went out: the runner may be given work from now on. */
  welcomed(session: RunnerSession): void {
    session.welcomed = true;
    this.events.roomChanged(session);
  }

  /** Stores the runner's record as it is now. */
  persist(session: RunnerSession, state?: RunnerState): Promise<Runner> {
    const runner = session.toRunner(state);
    if (state === RunnerState.RUNNER_STATE_DISCONNECTED) runner.running = 0;
    return this.commits.run(putRunnerWrite(runner));
  }

  /** Any message renews the lease (lazily: the timer re-arms from here when it fires). */
  heard(session: RunnerSession): void {
    session.lastSeenMs = this.clock.now();
  }

  /** The stream ended: the runner keeps its runs until its lease runs out. */
  disconnected(session: RunnerSession, channel: RunnerChannel): void {
    if (session.channel !== channel) return; // an older, replaced connection
    session.channel = undefined;
    this.events.roomChanged(session);
  }

  /**
   * DrainRunner / UndrainRunner: no new assignments (or again); running work
   * goes on. A disconnected runner is left as it is (it starts undrained when
   * it connects again).
   */
  async setDraining(runnerId: string, draining: boolean): Promise<Runner> {
    const session = this.byId.get(runnerId);
    if (!session) {
      const stored = await this.backend.getRunner(runnerId);
      if (!stored) throw runnerNotFound(runnerId);
      return stored;
    }
    if (session.draining === draining) return session.toRunner();
    session.draining = draining;
    this.events.roomChanged(session);
    if (draining) session.send({ message: { $case: "drain", value: {} } });
    return this.persist(session);
  }

  /**
   * DeleteRunner: forgets a DISCONNECTED runner's record. A runner the
   * supervisor still holds (connected, within its lease, or being expired) is
   * refused: forgetting it would only last until its next write.
   */
  async forget(runnerId: string): Promise<Runner> {
    const session = this.byId.get(runnerId);
    if (session || this.expiring.has(runnerId)) throw runnerConnected(runnerId, session?.name ?? runnerId);
    const stored = await this.backend.getRunner(runnerId);
    if (!stored) throw runnerNotFound(runnerId);
    await this.commits.run(deleteRunnerWrite(stored));
    return stored;
  }

  /** Shutdown: tell every runner to take nothing new, then end the streams. Runs stay owned for their lease. */
  stop(): void {
    this.stopped = true;
    for (const session of this.byId.values()) {
      session.lease?.cancel();
      session.send({ message: { $case: "drain", value: {} } });
      session.channel?.close({ kind: "shutdown", message: "the supervisor is shutting down" });
    }
  }

  private add(session: RunnerSession): void {
    this.byId.set(session.id, session);
    this.byName.set(session.name, session);
    this.events.changed(session);
  }

  private armLease(session: RunnerSession, delayMs: number): void {
    session.lease?.cancel();
    const dueMs = this.clock.now() + delayMs;
    session.lease = this.timers.after(delayMs, () => this.judgeLease(session, dueMs));
  }

  private judgeLease(session: RunnerSession, dueMs: number): void {
    if (this.stopped || this.byId.get(session.id) !== session) return;
    const nowMs = this.clock.now();
    if (nowMs - dueMs > STALL_MS) {
      this.armLease(session, Math.max(STALL_MS, this.settings.heartbeatIntervalMs));
      return;
    }
    const silentMs = nowMs - session.lastSeenMs;
    if (silentMs >= this.settings.leaseTtlMs) void this.expire(session);
    else this.armLease(session, this.settings.leaseTtlMs - silentMs);
  }

  /** Lease over: the runner is DISCONNECTED and its runs are LOST (failed attempts, retried by policy). */
  private async expire(session: RunnerSession): Promise<void> {
    this.expiring.add(session.id);
    session.channel?.close({ kind: "lease-expired", message: "lease expired: no heartbeat within the lease TTL" });
    session.channel = undefined;
    this.byId.delete(session.id);
    this.byName.delete(session.name);
    session.lease?.cancel();
    await this.events.expired(session);
    await this.persist(session, RunnerState.RUNNER_STATE_DISCONNECTED)
      .catch((error) => this.log("recording a lost runner failed", error))
      .finally(() => this.expiring.delete(session.id));
  }
}
