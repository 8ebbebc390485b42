import { type RunnerInfo as Runner, RunnerState, type Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../errors.js";
import type { StorageBackend, StoredRunner } from "../store/backend.js";
import type { DispatchIndex } from "./dispatch-index.js";
import { RemoteRunner } from "./remote-runner.js";
import type { RunTracker } from "./run-tracker.js";
import type { RunnerSession } from "./runner-session.js";
import type { RunnerTarget } from "./runner-target.js";

/** A server whose heartbeat is older than this is taken for dead (servers heartbeat about once a second). */
export const SERVER_STALE_MS = 5_000;

/** Runner records read per page when the runners table is read again. */
const PAGE = 1_000;

export interface RemoteRunnersDeps {
  backend: StorageBackend;
  serverId: string;
  clock: Clock;
  timers: Timers;
  log: Logger;
  leaseTtlMs: number;
  index: DispatchIndex<RunnerTarget>;
  tracker: RunTracker;
  /** The session of a runner whose stream is on this server (it is then not remote). */
  local(runnerId: string): RunnerSession | undefined;
  /** Nobody served the runner for a lease: its runs are lost, unless it connected again somewhere. */
  expired(runner: RemoteRunner): Promise<void>;
  /** Room may have changed: dispatch looks again. */
  schedule(): void;
}

/** The ids of the servers whose heartbeat is current. */
export async function liveServers(backend: StorageBackend): Promise<Set<string>> {
  const servers = (await backend.cluster?.listServers()) ?? [];
  return new Set(servers.filter((server) => server.silentMs < SERVER_STALE_MS).map(({ id }) => id));
}

/**
 * The leader's view of runners whose streams are on other servers: their records from the runners table
 * (read again when another server changes it, and every second), whether their server still heartbeats,
 * and the runs counted on them. A runner whose server stopped heartbeating is disconnected since its
 * last heartbeat; a lease after that its runs are lost, unless it connected to another server meanwhile.
 */
export class RemoteRunners {
  private readonly byId = new Map<string, RemoteRunner>();
  private refreshing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** When this server took the lead: a runner orphaned before that gets a lease from then to come back. */
  private ledSinceMs = 0;

  constructor(private readonly deps: RemoteRunnersDeps) {}

  get(runnerId: string): RemoteRunner | undefined {
    return this.byId.get(runnerId);
  }

  /** The runner of a run read from the store (on taking the lead), whatever its state; judged at the next refresh. */
  async adopt(runnerId: string, fallbackName: string): Promise<RemoteRunner> {
    const known = this.byId.get(runnerId);
    if (known) return known;
    const { backend } = this.deps;
    const [record, serverId] = await Promise.all([backend.getRunner(runnerId), backend.getRunnerServer(runnerId)]);
    const again = this.byId.get(runnerId); // another adopt may have won the await
    if (again) return again;
    const remote = new RemoteRunner(record ?? placeholder(runnerId, fallbackName), serverId ?? null);
    this.byId.set(runnerId, remote);
    return remote;
  }

  /** The runner connected here: a session serves it now (its runs move to the session). */
  drop(runnerId: string): void {
    const remote = this.byId.get(runnerId);
    if (!remote) return;
    remote.lease?.cancel();
    this.byId.delete(runnerId);
    if (!this.deps.local(runnerId)) this.deps.index.removeRunner(runnerId);
  }

  /** Reads the runners table and the servers' heartbeats again (calls while one runs coalesce into one more). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          await this.read();
        } while (this.again && !this.stopped);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** This server leads (again). */
  start(): void {
    this.stopped = false;
    this.ledSinceMs = this.deps.clock.now();
  }

  /** This server no longer leads: the runs counted on other servers' runners are forgotten (nothing is written). */
  stop(): void {
    this.stopped = true;
    for (const remote of this.byId.values()) {
      remote.lease?.cancel();
      for (const runId of [...remote.runs]) {
        const run = this.deps.tracker.get(runId);
        if (run) this.deps.tracker.untrack(run);
      }
      if (!this.deps.local(remote.id)) this.deps.index.removeRunner(remote.id);
    }
    this.byId.clear();
  }

  private async read(): Promise<void> {
    const { backend, clock } = this.deps;
    const servers = (await backend.cluster?.listServers()) ?? [];
    const nowMs = clock.now();
    // By the database's clock: how long ago each server heartbeated, as of now.
    const heartbeats = new Map(servers.map((server) => [server.id, nowMs - server.silentMs]));
    const records: StoredRunner[] = [];
    for (let after = ""; ; ) {
      const page = await backend.listRunners(after, PAGE);
      records.push(...page);
      if (page.length < PAGE) break;
      after = page.at(-1)!.runner.name;
    }
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const { runner, serverId } of records) {
      seen.add(runner.id);
      this.update(runner, serverId ?? null, heartbeats, nowMs);
    }
    // Records deleted (DeleteRunner takes only disconnected ones): nothing to route to.
    for (const remote of [...this.byId.values()]) {
      if (!seen.has(remote.id) && remote.runs.size === 0) this.drop(remote.id);
    }
    this.deps.schedule();
  }

  private update(
    record: Runner,
    serverId: string | null,
    heartbeats: ReadonlyMap<string, number>,
    nowMs: number,
  ): void {
    if (this.deps.local(record.id)) {
      this.drop(record.id); // its stream is here
      return;
    }
    const heldElsewhere = serverId !== null && serverId !== this.deps.serverId;
    let remote = this.byId.get(record.id);
    if (!remote) {
      if (!heldElsewhere || record.state === RunnerState.RUNNER_STATE_DISCONNECTED) return; // nothing to count
      remote = new RemoteRunner(record, serverId);
      this.byId.set(record.id, remote);
    }
    const before = routingKey(remote);
    remote.record = record;
    remote.serverId = serverId;
    const heartbeatMs = serverId === null ? undefined : heartbeats.get(serverId);
    remote.holderLive = heldElsewhere && heartbeatMs !== undefined && nowMs - heartbeatMs < SERVER_STALE_MS;
    if (routingKey(remote) !== before || !this.deps.index.hasRunner(remote.id)) this.deps.index.upsertRunner(remote);
    this.judge(remote, heartbeatMs, nowMs);
    // A draining runner on a live server stays (it matches, without room: RUNNERS_BUSY, as a local one).
    const draining = remote.holderLive && record.state === RunnerState.RUNNER_STATE_DRAINING;
    if (remote.runs.size === 0 && !remote.acceptsWork && !draining) this.drop(remote.id);
  }

  /**
   * A runner on a live server is that server's to expire (it keeps the lease). One nobody serves is
   * disconnected since its server's last heartbeat (or since now, when there is none, or since this
   * server took the lead, if later): a lease later its runs are lost.
   */
  private judge(remote: RemoteRunner, heartbeatMs: number | undefined, nowMs: number): void {
    if (remote.holderLive) {
      remote.orphanSinceMs = undefined;
      remote.lease?.cancel();
      remote.lease = undefined;
      return;
    }
    if (remote.orphanSinceMs !== undefined || remote.runs.size === 0) return;
    // Since its server's last heartbeat — but a leader that just took over (all servers down, say) gives a
    // whole lease from then, as a restarted server alone gives its runners: they had nowhere to come back to.
    remote.orphanSinceMs = Math.min(Math.max(heartbeatMs ?? nowMs, this.ledSinceMs), nowMs);
    const dueMs = remote.orphanSinceMs + this.deps.leaseTtlMs;
    const until = new Date(dueMs).toISOString();
    this.deps.log(
      `runner ${remote.name}: nobody serves it (server ${remote.serverId ?? "none"}); its runs wait until ${until}`,
    );
    remote.lease = this.deps.timers.after(Math.max(0, dueMs - nowMs), () => {
      remote.lease = undefined;
      if (this.stopped || this.byId.get(remote.id) !== remote || remote.orphanSinceMs === undefined) return;
      void this.deps.expired(remote).then(() => this.refresh());
    });
  }
}

/** What routing compares to know whether a runner must be linked to its classes again. */
const routingKey = (remote: RemoteRunner): string =>
  JSON.stringify([remote.record.labels, remote.record.kinds, remote.capacity, remote.acceptsWork]);

/** A run's runner whose record is gone: enough to count its runs and lose them. */
function placeholder(id: string, name: string): Runner {
  return {
    id,
    name,
    labels: {},
    kinds: [],
    capacity: 0,
    running: 0,
    state: RunnerState.RUNNER_STATE_DISCONNECTED,
    version: "",
    instanceId: "",
  };
}
