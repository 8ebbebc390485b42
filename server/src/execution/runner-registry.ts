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
import { claimedSince } from "../store/decide/runners.js";
import type { GroupCommit } from "../store/group-commit.js";
import {
  deleteRunnerWrite,
  putRunnerWrite,
  setDrainingWrite,
  takeRunnerNameWrite,
  unlessClaimed,
} from "../store/writes.js";
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
  /** It connected to another server, which serves it (and its runs) from now on. */
  handedOver(session: RunnerSession): void;
}

/** Several servers share the database: runner names are taken there, and runners move between servers. */
export interface RegistryCluster {
  serverId: string;
  /** The ids of the servers whose heartbeat is current. */
  liveServers(): Promise<ReadonlySet<string>>;
}

/** A timer this late means the process was stalled (SIGSTOP, a long synchronous stretch). */
const STALL_MS = 1_000;
/** Runner records read per page when comparing the runners held here with the table. */
const RECONCILE_PAGE = 1_000;

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
  private readonly expiring = new Map<string, Promise<void>>();
  /** The last of the serial reads of stored records (several servers): see `serially`. */
  private following: Promise<void> = Promise.resolve();
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
    private readonly cluster?: RegistryCluster,
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

  /**
   * Stores the runner's record as it is now. With several servers, only while the stored record is still
   * this connection's: a runner that connected to another server since is that server's to record.
   */
  async persist(session: RunnerSession, state?: RunnerState): Promise<Runner> {
    const runner = session.toRunner(state);
    if (state === RunnerState.RUNNER_STATE_DISCONNECTED) runner.running = 0;
    if (!this.cluster) return this.commits.run(putRunnerWrite(runner));
    // Disconnected but within its lease, it is still this server's (to expire, or to take back); once its
    // lease is over, nobody's.
    const keptHere = state === RunnerState.RUNNER_STATE_DISCONNECTED && this.byId.get(session.id) === session;
    await this.commits.run(unlessClaimed(putRunnerWrite(runner, keptHere ? this.cluster.serverId : undefined), runner));
    return runner;
  }

  /**
   * The hello's record. With several servers the name is taken in the database: refused while another
   * process holds it on another live server (takeRunnerNameWrite).
   */
  async claim(session: RunnerSession): Promise<Runner> {
    if (!this.cluster) return this.persist(session);
    const { serverId, liveServers } = this.cluster;
    return this.commits.run(takeRunnerNameWrite(session.toRunner(), serverId, await liveServers()));
  }

  /**
   * Several servers: runners held here whose stored record is another connection's now (they connected
   * to another server) are let go without a write — that server serves them and their runs. A drain or
   * undrain another server wrote to the record of a runner connected here is applied (followStored).
   */
  reconcile(): Promise<void> {
    if (!this.cluster) return Promise.resolve();
    return this.serially(async () => {
      // Those whose connection was recorded before the read: a connection made since may be newer than its record.
      const held = [...this.byId.values()]
        .filter((session) => !session.channel || session.welcomed)
        .map((session) => ({ session, channel: session.channel }));
      if (held.length === 0) return;
      // One read of the table (by pages) for all of them, not one per runner held here.
      const stored = new Map<string, Runner>();
      for (let after = ""; ; ) {
        const page = await this.backend.listRunners(after, RECONCILE_PAGE);
        for (const record of page) stored.set(record.runner.name, record.runner);
        if (page.length < RECONCILE_PAGE) break;
        after = page[page.length - 1]!.runner.name;
      }
      for (const { session, channel } of held) {
        if (session.channel === channel) this.compareStored(session, stored.get(session.name));
      }
    });
  }

  /** One runner's stored record, read now and compared with its session here. Called only serially. */
  private async followStored(session: RunnerSession): Promise<void> {
    if (session.channel && !session.welcomed) return; // its hello is being recorded
    this.compareStored(session, await this.backend.getRunnerByName(session.name));
  }

  /** A stored record (read after everything this server did before the read) against the session here. */
  private compareStored(session: RunnerSession, stored: Runner | undefined): void {
    if (this.byId.get(session.id) !== session || (session.channel && !session.welcomed)) return;
    if (!claimedSince(session.toRunner(), stored)) {
      // The record is this connection's: its state says whether the runner drains (whoever wrote it).
      const state = stored?.state;
      const live = state === RunnerState.RUNNER_STATE_DRAINING || state === RunnerState.RUNNER_STATE_CONNECTED;
      if (session.channel && live) this.applyDraining(session, state === RunnerState.RUNNER_STATE_DRAINING);
      return;
    }
    this.log(`runner ${session.name} connected to another server; it is served there now`, undefined, {
      runner: session.name,
    });
    session.channel?.close({ kind: "superseded", message: "this runner connected to another server" });
    session.channel = undefined;
    session.lease?.cancel();
    this.byId.delete(session.id);
    this.byName.delete(session.name);
    this.events.handedOver(session);
  }

  /**
   * Reads of stored records and what they change here, one after another: applied in the order they were
   * read, a record read later (so as fresh or fresher) always has the last word.
   */
  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.following.then(work, work);
    this.following = next.catch(() => {});
    return next;
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
    // Other servers see it gone at once: the leader gives it nothing more, and a new process may take its name.
    if (this.cluster && session.welcomed && !this.stopped) {
      this.persist(session, RunnerState.RUNNER_STATE_DISCONNECTED).catch((error) =>
        this.log(`recording that runner ${session.name} disconnected failed`, error, { runner: session.name }),
      );
    }
    this.log(`runner ${session.name} disconnected`, undefined, { runner: session.name, runner_id: session.id });
  }

  /**
   * DrainRunner / UndrainRunner: no new assignments (or again); running work
   * goes on. A disconnected runner is left as it is (it starts undrained when
   * it connects again). With several servers the request goes through the
   * runner's record: whichever server receives it writes the record, and the
   * server holding the stream applies what the record says (followStored).
   */
  async setDraining(runnerId: string, draining: boolean): Promise<Runner> {
    if (this.cluster) return this.forwardDraining(runnerId, draining);
    const session = this.byId.get(runnerId);
    if (!session) {
      const stored = await this.backend.getRunner(runnerId);
      if (!stored) throw runnerNotFound(runnerId);
      return stored;
    }
    if (session.draining === draining) return session.toRunner();
    this.applyDraining(session, draining);
    return this.persist(session);
  }

  /**
   * Several servers: the drain written to the record of a runner connected here or on another live
   * server; answered once committed. A runner connected nowhere (here: within its lease, but without a
   * stream) is answered with its record as it is: a record saying it is live would have the leader send it
   * work.
   */
  private async forwardDraining(runnerId: string, draining: boolean, attempts = 3): Promise<Runner> {
    const { serverId, liveServers } = this.cluster!;
    const session = this.byId.get(runnerId);
    if (session?.channel && session.welcomed) {
      const written = await this.commits.run(setDrainingWrite(session.toRunner(), draining));
      if (written) {
        await this.serially(() => this.followStored(session));
        return this.byId.get(runnerId) === session ? { ...session.toRunner(), state: written.state } : written;
      }
    } else if (session && !session.channel) {
      return this.answerAsIs(runnerId);
    } else if (!session) {
      const [stored, holder] = await Promise.all([
        this.backend.getRunner(runnerId),
        this.backend.getRunnerServer(runnerId),
      ]);
      if (!stored) throw runnerNotFound(runnerId);
      const heldElsewhere =
        !!holder &&
        holder !== serverId &&
        stored.state !== RunnerState.RUNNER_STATE_DISCONNECTED &&
        (await liveServers()).has(holder);
      if (!heldElsewhere) return stored;
      const written = await this.commits.run(setDrainingWrite(stored, draining));
      if (written) return written;
    }
    // It connected again (here or elsewhere), disconnected, or its hello is being recorded: look again.
    if (attempts > 1 && !this.stopped) return this.forwardDraining(runnerId, draining, attempts - 1);
    return this.answerAsIs(runnerId);
  }

  /**
   * The answer when nothing was written: the runner as this server has it, or as stored. A runner whose
   * hello is being recorded is a new connection, which starts undrained whatever came before it.
   */
  private async answerAsIs(runnerId: string): Promise<Runner> {
    const session = this.byId.get(runnerId);
    if (session?.channel) return session.toRunner();
    const stored = await this.backend.getRunner(runnerId);
    if (!stored) throw runnerNotFound(runnerId);
    return stored;
  }

  /** The drain as the runner's stream sees it: its room changes, and a drain is told to the runner. */
  private applyDraining(session: RunnerSession, draining: boolean): void {
    if (session.draining === draining) return;
    session.draining = draining;
    this.events.roomChanged(session);
    if (draining) session.send({ message: { $case: "drain", value: {} } });
  }

  /**
   * DeleteRunner: forgets a DISCONNECTED runner's record. A runner the
   * supervisor still holds (connected, within its lease, or being expired) is
   * refused: forgetting it would only last until its next write.
   */
  async forget(runnerId: string): Promise<Runner> {
    // An expiry being written ends in a moment (its DISCONNECTED record may already be listed): wait for it.
    await this.expiring.get(runnerId)?.catch(() => {});
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
  private expire(session: RunnerSession): Promise<void> {
    this.log(`runner ${session.name}: lease expired; its ${session.runs.size} run(s) are lost`, undefined, {
      level: "warn",
      runner: session.name,
      runner_id: session.id,
    });
    session.channel?.close({ kind: "lease-expired", message: "lease expired: no heartbeat within the lease TTL" });
    session.channel = undefined;
    this.byId.delete(session.id);
    this.byName.delete(session.name);
    session.lease?.cancel();
    const expiry = (async () => {
      await this.events.expired(session);
      await this.persist(session, RunnerState.RUNNER_STATE_DISCONNECTED).catch((error) =>
        this.log("recording a lost runner failed", error, { runner: session.name }),
      );
    })().finally(() => this.expiring.delete(session.id));
    this.expiring.set(session.id, expiry);
    return expiry;
  }
}
