import { TaskReason, type Timer, type Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../errors.js";
import type { GroupCommit } from "../store/group-commit.js";
import { waitingReasonWrite } from "../store/writes.js";
import type { DispatchIndex } from "./dispatch-index.js";
import type { RunnerSession } from "./runner-session.js";

/** How often reasons are checked, and how long a task must have waited before its reason is rewritten. */
const CHECK_EVERY_MS = 1_000;
/** Rewrites per commit. */
const BATCH = 500;

interface Verdict {
  reason: string;
  message: string;
}

function verdictFor(fittingRunners: number): Verdict {
  if (fittingRunners === 0) {
    return {
      reason: TaskReason.NO_MATCHING_RUNNER,
      message: "no connected runner matches its selector and has its kind",
    };
  }
  return {
    reason: TaskReason.RUNNERS_BUSY,
    message:
      fittingRunners === 1
        ? "the one matching runner is at capacity or draining"
        : `all ${fittingRunners} matching runners are at capacity or draining`,
  };
}

/**
 * Keeps a waiting task's reason true: NO_MATCHING_RUNNER when no connected
 * runner fits it, RUNNERS_BUSY when some do but none has room. Checked once a
 * second and only for tasks that have already waited that long, so a task
 * dispatched at once never costs an extra write; rewrites go in batches.
 */
export class WaitingReasons {
  private timer: Timer | undefined;
  private running = false;
  /** When each task was first seen waiting without room, by id. */
  private readonly since = new Map<string, number>();

  constructor(
    private readonly index: DispatchIndex<RunnerSession>,
    private readonly commits: GroupCommit,
    private readonly timers: Timers,
    private readonly clock: Clock,
    private readonly log: Logger,
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
      const stale: { taskId: string; verdict: Verdict }[] = [];
      const seen = new Set<string>();
      for (const { entry, fittingRunners, freeRunners } of this.index.ready()) {
        if (freeRunners > 0) continue; // about to be dispatched
        seen.add(entry.taskId);
        const since = this.since.get(entry.taskId) ?? nowMs;
        this.since.set(entry.taskId, since);
        if (nowMs - since < CHECK_EVERY_MS) continue;
        const verdict = verdictFor(fittingRunners);
        if (entry.reason !== verdict.reason) stale.push({ taskId: entry.taskId, verdict });
      }
      for (const taskId of this.since.keys()) if (!seen.has(taskId)) this.since.delete(taskId);
      for (let start = 0; start < stale.length; start += BATCH) {
        const batch = stale.slice(start, start + BATCH).map(({ taskId, verdict }) => ({ taskId, ...verdict }));
        await this.commits.run(waitingReasonWrite(batch));
      }
      return stale.length;
    } catch (error) {
      this.log("updating why tasks wait failed; trying again in a second", error);
      return 0;
    } finally {
      this.running = false;
    }
  }
}
