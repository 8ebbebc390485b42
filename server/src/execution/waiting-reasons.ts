import { TaskReason, type Timer, type Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { closestFit } from "../core/runner-fit.js";
import { noMatchingRunnerMessage, runnersBusyMessage } from "../core/wait-messages.js";
import type { Logger } from "../errors.js";
import type { GroupCommit } from "../store/group-commit.js";
import { waitingReasonWrite } from "../store/writes.js";
import type { DispatchIndex, HeldEntry, PendingEntry, RequirementClass } from "./dispatch-index.js";
import type { RunnerTarget } from "./runner-target.js";

/** How often reasons are checked, and how long a task must have waited before its reason is rewritten. */
const CHECK_EVERY_MS = 1_000;
/** Rewrites per commit. */
const BATCH = 500;

interface Verdict {
  reason: string;
  message: string;
}

/**
 * A class's verdict: NO_MATCHING_RUNNER naming the runner that comes closest and what it fails (or
 * that none is known), RUNNERS_BUSY with how many fit.
 */
function decideVerdict(cls: RequirementClass<RunnerTarget>, known: Iterable<RunnerTarget>): Verdict {
  const pin = cls.pinnedRunnerId;
  const fitting = [...cls.runners];
  if (fitting.length === 0) {
    return { reason: TaskReason.NO_MATCHING_RUNNER, message: noMatchingRunnerMessage(closestFit(known, cls.fit), pin) };
  }
  const pinned = pin === undefined ? undefined : fitting[0];
  return { reason: TaskReason.RUNNERS_BUSY, message: runnersBusyMessage(fitting.length, pinned) };
}

/** The messages of waiting tasks, each text held once: the tasks of a class carry the same one. */
const sharedMessages = new Map<string, string>();
const MAX_SHARED_MESSAGES = 10_000;

/** `message`, as the one copy kept of that text (a pending task's entry holds it, not its own decoded copy). */
export function sharedMessage(message: string): string {
  const known = sharedMessages.get(message);
  if (known !== undefined) return known;
  if (sharedMessages.size >= MAX_SHARED_MESSAGES) sharedMessages.clear();
  sharedMessages.set(message, message);
  return message;
}

/**
 * Keeps a waiting task's reason true: NO_MATCHING_RUNNER when no connected
 * runner fits it, RUNNERS_BUSY when some do but none has room. Checked once a
 * second and only for tasks that have already waited that long, so a task
 * dispatched at once never costs an extra write; rewrites go in batches.
 *
 * A check costs what changed, not what waits: each class of tasks (kind +
 * selector) has one verdict, and only tasks that joined a class since the
 * last check, or every task of a class whose verdict changed, are compared
 * with it. (Comparing every waiting task every second stalled the server for
 * 0.8–2 s with a million pending.) A verdict is decided again only once the
 * runners changed (finding the closest runner costs runners × terms).
 */
export class WaitingReasons {
  private timer: Timer | undefined;
  private running = false;
  /** Each class's verdict, and the index's runnersVersion it was decided at. */
  private readonly verdicts = new WeakMap<RequirementClass<RunnerTarget>, { version: number; verdict: Verdict }>();

  constructor(
    private readonly index: DispatchIndex<RunnerTarget>,
    private readonly commits: Pick<GroupCommit, "run">,
    private readonly timers: Timers,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Why a task held back by a concurrency key or a dispatch pause waits (the dispatcher knows). */
    private readonly heldVerdict: (held: HeldEntry) => Verdict | undefined = () => undefined,
  ) {}

  start(): void {
    this.timer = this.timers.every(CHECK_EVERY_MS, () => void this.check());
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** One pass: rewrites the reasons that are no longer true. */
  async check(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const nowMs = this.clock.now();
      const stale: Stale[] = [];
      for (const cls of this.index.withoutRoom()) stale.push(...staleIn(cls, this.verdictFor(cls), nowMs));
      stale.push(...this.staleHeld(nowMs));
      for (let start = 0; start < stale.length; start += BATCH) {
        const batch = stale.slice(start, start + BATCH);
        await this.commits
          .run(waitingReasonWrite(batch.map(({ entry, verdict }) => ({ taskId: entry.taskId, ...verdict }))))
          .catch((error: unknown) => {
            // Compared again at the next check.
            for (const { entry, cls, held } of batch) {
              if (cls) cls.unchecked.set(entry.taskId, { entry, sinceMs: nowMs });
              else if (held && this.index.heldIn(entry.taskId) === held.group) {
                this.index.heldUnchecked.set(entry.taskId, { ...held, sinceMs: nowMs });
              }
            }
            throw error;
          });
      }
      return stale.length;
    } catch (error) {
      this.log("updating why tasks wait failed; trying again in a second", error);
      return 0;
    } finally {
      this.running = false;
    }
  }

  private verdictFor(cls: RequirementClass<RunnerTarget>): Verdict {
    const version = this.index.runnersVersion;
    const decided = this.verdicts.get(cls);
    if (decided?.version === version) return decided.verdict;
    const verdict = decideVerdict(cls, this.index.knownRunners());
    this.verdicts.set(cls, { version, verdict });
    return verdict;
  }

  /** Tasks held back by a concurrency key or a pause (costs per task held, once), once they waited a while. */
  private staleHeld(nowMs: number): Stale[] {
    const stale: Stale[] = [];
    for (const [taskId, held] of this.index.heldUnchecked) {
      if (nowMs - held.sinceMs < CHECK_EVERY_MS) break;
      this.index.heldUnchecked.delete(taskId);
      const verdict = this.heldVerdict(held);
      if (verdict && held.entry.reason !== verdict.reason) stale.push({ entry: held.entry, held, verdict });
    }
    return stale;
  }
}

interface Stale {
  entry: PendingEntry;
  cls?: RequirementClass<RunnerTarget>;
  held?: HeldEntry;
  verdict: Verdict;
}

/** The tasks of a class (where no fitting runner has room) whose reason is no longer true, once they waited a while. */
function staleIn(cls: RequirementClass<RunnerTarget>, verdict: Verdict, nowMs: number): Stale[] {
  const decided = `${verdict.reason}\n${verdict.message}`;
  if (cls.verdict !== decided) {
    // A new verdict for the whole class: every task of it is compared again.
    cls.verdict = decided;
    for (const entry of cls.ready) {
      if (!cls.unchecked.has(entry.taskId)) cls.unchecked.set(entry.taskId, { entry, sinceMs: nowMs });
    }
  }
  const stale: Stale[] = [];
  // In joining order, so the first one that has not waited long enough ends the walk.
  for (const [taskId, { entry, sinceMs }] of cls.unchecked) {
    if (entry.reason === verdict.reason && entry.message === verdict.message) {
      cls.unchecked.delete(taskId);
      continue;
    }
    if (nowMs - sinceMs < CHECK_EVERY_MS) break;
    cls.unchecked.delete(taskId);
    stale.push({ entry, cls, verdict });
  }
  return stale;
}
