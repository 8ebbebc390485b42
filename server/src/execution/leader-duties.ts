import type { Timer, Timers } from "@supervisor/sdk";
import type { Leadership } from "../cluster/leadership.js";
import type { Clock } from "../core/clock.js";
import { concurrencyKeysOf } from "../core/concurrency.js";
import type { Logger } from "../errors.js";
import type { StorageBackend } from "../store/backend.js";
import type { GroupCommit, WriteRequest } from "../store/group-commit.js";
import type { Dispatcher } from "./dispatcher.js";
import type { RemoteRunners } from "./remote-runners.js";
import type { Rescuer } from "./rescuer.js";
import type { ActiveRun, RunTracker } from "./run-tracker.js";
import type { RunnerRegistry } from "./runner-registry.js";
import type { WaitingReasons } from "./waiting-reasons.js";

/** Something that runs only while this server leads: started on taking the lead, returns its stop. */
export type Duty = () => () => Promise<void> | void;

/** How often the leader reads the runners table and server heartbeats again (besides on every change). */
const RECONCILE_EVERY_MS = 1_000;
/** After a failed start of the leader's work (the store away), it is tried again this much later. */
const RETRY_LEAD_MS = 1_000;

/** The leader's writes: each carries the epoch, so once another server leads they cannot commit. */
export function underEpoch<R>(write: WriteRequest<R>, epoch: () => number | undefined): WriteRequest<R> {
  return {
    reads: write.reads,
    decide: (view, nowMs) => {
      const result = write.decide(view, nowMs);
      const current = epoch();
      if (current !== undefined) view.requireLeader(current);
      return result;
    },
  };
}

/** A GroupCommit whose writes carry the leader epoch. */
export const leaderCommits = (commits: GroupCommit, epoch: () => number | undefined): Pick<GroupCommit, "run"> => ({
  run: (write) => commits.run(underEpoch(write, epoch)),
});

export interface LeaderDutiesDeps {
  leadership: Leadership;
  backend: StorageBackend;
  /** Other servers write the same database. */
  shared: boolean;
  dispatcher: Dispatcher;
  waitingReasons: WaitingReasons;
  remotes: RemoteRunners;
  rescuer: Rescuer;
  registry: RunnerRegistry;
  tracker: RunTracker;
  clock: Clock;
  timers: Timers;
  log: Logger;
}

/**
 * What must run once however many servers share the database — dispatch over every runner, waiting
 * reasons, the lease of runners nobody serves, retention — runs while this server leads, started and
 * stopped as Leadership says. On taking the lead the pending tasks and active runs are read from the
 * store (a server alone on its database: today's start-up restore; with others: without touching the
 * runners other live servers serve). A server alone always leads, from start-up on.
 */
export class LeaderDuties {
  private readonly duties: Duty[] = [];
  private running: (() => Promise<void> | void)[] = [];
  private reconcile: Timer | undefined;
  private retry: Timer | undefined;
  private unsubscribe: (() => void) | undefined;
  private changes: Promise<void> = Promise.resolve();
  private stopped = false;
  leading = false;

  constructor(private readonly deps: LeaderDutiesDeps) {}

  /** Runs `duty` whenever this server leads (at once if it does now). */
  add(duty: Duty): void {
    this.duties.push(duty);
    if (this.leading) this.running.push(duty());
  }

  /** Follows the leadership; resolves once this server's leader work started, if it leads now. */
  async start(): Promise<void> {
    const { leadership } = this.deps;
    this.unsubscribe = leadership.onChange((leading) => this.queue(() => (leading ? this.lead() : this.resign())));
    if (leadership.epoch() !== undefined) await this.queue(() => this.lead(), !this.deps.shared);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.retry?.cancel();
    await this.queue(() => this.resign());
  }

  /** Leading and resigning happen one after another, in the order Leadership said them. */
  private queue(step: () => Promise<void>, rethrow = false): Promise<void> {
    const next = this.changes.then(step);
    this.changes = next.catch(() => {});
    return rethrow ? next : next.catch((error) => this.failedToLead(error));
  }

  private failedToLead(error: unknown): void {
    this.deps.log("taking up the leader's work failed; trying again in a second", error);
    void this.queue(() => this.resign());
    this.retry = this.deps.timers.after(RETRY_LEAD_MS, () => {
      if (!this.stopped && this.deps.leadership.epoch() !== undefined) void this.queue(() => this.lead());
    });
  }

  private async lead(): Promise<void> {
    if (this.leading || this.stopped) return;
    // The elector says it in the log ("this server leads (epoch n)").
    const { shared, dispatcher, rescuer, remotes, waitingReasons, timers, log } = this.deps;
    this.leading = true;
    dispatcher.lead();
    remotes.start();
    // The keys' buckets and pauses first: the tasks read next are held by them from their first pass.
    dispatcher.loadKeys(await this.deps.backend.rateKeys());
    if (shared) await this.rebuild();
    else await rescuer.restore();
    waitingReasons.start();
    for (const duty of this.duties) this.running.push(duty());
    if (shared) {
      this.reconcile = timers.every(RECONCILE_EVERY_MS, () => {
        remotes.refresh().catch((error) => log("reading the runners of other servers failed", error));
      });
    }
    // Not before: a start decided while the stored runs were still being counted could pass a key's limit.
    dispatcher.open();
  }

  private async resign(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.reconcile?.cancel();
    this.deps.dispatcher.resign();
    this.deps.waitingReasons.stop();
    this.deps.remotes.stop();
    const running = this.running;
    this.running = [];
    await Promise.all(running.map((stop) => stop()));
  }

  /**
   * The store's pending tasks, and its active runs counted on their runners: runs tracked here already
   * are served here; every other one is counted on its runner as the runners table has it — served by
   * another live server, or nobody's (their server died), then lost a lease later unless the runner
   * connects again. A run of a runner whose stream is here but that is not tracked yet (its hello is being
   * recorded, or its assign delivered) is counted too: the hello or the delivery takes the count over
   * (Rescuer.resume, RunDelivery), so from the first dispatch no key or runner looks freer than it is.
   */
  private async rebuild(): Promise<void> {
    const { backend, dispatcher, tracker, remotes, clock } = this.deps;
    const nowMs = clock.now();
    for (const task of await backend.dispatchableTasks()) dispatcher.track(task, nowMs);
    const counted: ActiveRun[] = [];
    for (const run of await backend.activeRuns()) {
      if (tracker.get(run.id)) continue;
      const stored = await backend.getTask(run.taskId);
      const remote = await remotes.adopt(run.runnerId, run.runnerName);
      if (tracker.get(run.id)) continue;
      const spec = stored?.task.spec;
      const active = tracker.newRun(run.id, run.taskId, run.runnerId, spec?.slot ?? "", concurrencyKeysOf(spec));
      tracker.track(active, remote);
      counted.push(active);
    }
    // A run that ended between the first read and its count was counted for good (its end went by before
    // the count could hear of it): a second read, after every count, lets those go. Later ends find them.
    if (counted.length > 0) {
      const active = new Set((await backend.activeRuns()).map((run) => run.id));
      for (const run of counted) if (!active.has(run.runId) && tracker.get(run.runId) === run) tracker.untrack(run);
    }
    await remotes.refresh();
  }
}
