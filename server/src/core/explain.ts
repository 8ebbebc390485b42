import {
  type DispatchPause,
  type RunnerFit,
  routingKind,
  type Task,
  TaskPhase,
  TaskReason,
  type WaitBlocker,
} from "@supervisor/sdk";
import { type ConcurrencyLimits, concurrencyKeysOf, effectiveLimit } from "./concurrency.js";
import { isFanOut } from "./fan-out.js";
import { conforms, effectiveRate, nextTokenMs, type RateLimits } from "./rate-limit.js";
import { type Fit, type FitCandidate, type RunnerRequirements, rankByFit } from "./runner-fit.js";
import { selectorFromRunnerSelector } from "./selector.js";
import {
  backoffMessage,
  keyLimitMessage,
  keyPausedMessage,
  noMatchingRunnerMessage,
  noTokenMessage,
  notBeforeMessage,
  pausedMessage,
  runnersBusyMessage,
  slotHeldMessage,
} from "./wait-messages.js";

/** A connected runner (CONNECTED or DRAINING) as ExplainTask compares it. */
export interface RunnerView extends FitCandidate {
  capacity: number;
  running: number;
  draining: boolean;
}

/** Everything ExplainTask decides from, gathered by the server that answers (execution/explain-inputs.ts). */
export interface ExplainInputs {
  task: Task;
  nowMs: number;
  /** Every connected runner, with the runs it has now. */
  runners: readonly RunnerView[];
  /** The dispatch pauses that match the task. */
  pauses: readonly DispatchPause[];
  /** Another task holds the task's slot: queued behind its owner, or waiting for a replaced owner to stop. */
  slotHolder?: { taskId: string; queued: boolean };
  /** Tasks running that hold each of the task's keys; undefined when this server cannot count them. */
  keyRunning?: ReadonlyMap<string, number>;
  /** The server's limits per key (config concurrencyLimits). */
  limits: ConcurrencyLimits;
  /** The stored state (rate_keys) of the task's rate-limit and concurrency keys; a key without a row is free. */
  keyStates: ReadonlyMap<string, { tatMs: number; pausedUntilMs: number; pausedBy: string }>;
  /** The server's rates per key (config rateLimits). */
  rates: RateLimits;
}

export interface Explanation {
  blockers: WaitBlocker[];
  runners: RunnerFit[];
}

/** The reasons a retried task carries while it backs off (the attempt's end, or BACKOFF after a success). */
const RETRY_REASONS: ReadonlySet<string> = new Set([
  TaskReason.BACKOFF,
  TaskReason.ATTEMPT_FAILED,
  TaskReason.ATTEMPT_TIMEOUT,
  TaskReason.INIT_FAILED,
  TaskReason.RUNNER_LOST,
]);

/** Stored reasons that ExplainTask works out for itself (CONCURRENCY_LIMITED too, where keys are counted). */
const DECIDED_HERE: ReadonlySet<string> = new Set([
  ...RETRY_REASONS,
  TaskReason.NO_MATCHING_RUNNER,
  TaskReason.RUNNERS_BUSY,
  TaskReason.SLOT_QUEUED,
  TaskReason.DISPATCH_PAUSED,
  TaskReason.NOT_BEFORE,
  TaskReason.RATE_LIMITED,
]);

const blocker = (reason: string, message: string, fields: Partial<WaitBlocker> = {}): WaitBlocker => ({
  reason,
  message,
  key: "",
  count: 0,
  limit: 0,
  pauseId: "",
  ownerTaskId: "",
  ...fields,
});

const fitOf = ({ runner, unmet }: Fit<RunnerView>): RunnerFit => ({
  runnerId: runner.id,
  name: runner.name,
  matches: unmet.length === 0,
  failedRequirement: unmet[0]?.requirement ?? "",
  running: runner.running,
  capacity: runner.capacity,
  draining: runner.draining,
});

/** What the task asks of a runner; a selector that no longer parses is an explanation of its own. */
function requirementsOf(task: Task): RunnerRequirements | { unusable: string } | undefined {
  const spec = task.spec!;
  const kind = routingKind(spec);
  // A fan-out parent runs nothing itself: its children are dispatched.
  if (!kind || isFanOut(spec)) return undefined;
  try {
    const selector = selectorFromRunnerSelector(spec.runnerSelector ?? { matchLabels: {}, matchExpressions: [] });
    return { kind, selector, pinnedRunnerId: spec.pinnedRunnerId || undefined };
  } catch (error) {
    return { unusable: error instanceof Error ? error.message : String(error) };
  }
}

/** How the last attempt ended, for a backoff's message ("" after a success: BACKOFF says nothing more). */
const lastEnd = (reason: string) => (reason === TaskReason.BACKOFF ? "" : reason);

/** NO_MATCHING_RUNNER or RUNNERS_BUSY, when one of them holds. */
function runnerBlocker(fits: readonly Fit<RunnerView>[], pin: string | undefined): WaitBlocker | undefined {
  const matching = fits.filter((fit) => fit.unmet.length === 0).map((fit) => fit.runner);
  if (matching.length === 0) {
    return blocker(TaskReason.NO_MATCHING_RUNNER, noMatchingRunnerMessage(fits[0], pin));
  }
  const busy = matching.filter((runner) => runner.draining || runner.running >= runner.capacity);
  if (busy.length < matching.length) return undefined;
  const pinned = pin === undefined ? undefined : matching[0];
  return blocker(TaskReason.RUNNERS_BUSY, runnersBusyMessage(matching.length, pinned), {
    count: busy.length,
    limit: matching.length,
  });
}

/**
 * Why a task is not running now: every blocker in force, the most decisive first — those only an operator
 * or another task lifts (no runner fits, a pause, the slot's owner, a key at its limit), then a stored
 * reason decided elsewhere (rate limits), then room on runners, then time. A task running or ended has
 * none. `runners` compares every connected runner with the task, closest first.
 */
export function explainTask(inputs: ExplainInputs): Explanation {
  const { task, nowMs } = inputs;
  const requirements = requirementsOf(task);
  const fits = requirements && !("unusable" in requirements) ? rankByFit(inputs.runners, requirements) : [];
  const runners = fits.map(fitOf);
  const status = task.status!;
  if (status.phase !== TaskPhase.TASK_PHASE_PENDING) return { blockers: [], runners };

  const spec = task.spec!;
  const blockers: WaitBlocker[] = [];
  let busy: WaitBlocker | undefined;
  if (requirements && "unusable" in requirements) {
    blockers.push(blocker(TaskReason.NO_MATCHING_RUNNER, `its runner selector is unusable: ${requirements.unusable}`));
  } else if (requirements) {
    const found = runnerBlocker(fits, requirements.pinnedRunnerId);
    if (found?.reason === TaskReason.NO_MATCHING_RUNNER) blockers.push(found);
    else busy = found;
  }
  for (const pause of inputs.pauses) {
    blockers.push(blocker(TaskReason.DISPATCH_PAUSED, pausedMessage(pause), { pauseId: pause.id }));
  }
  const holder = inputs.slotHolder;
  if (holder) {
    blockers.push(
      blocker(TaskReason.SLOT_QUEUED, slotHeldMessage(spec.slot, holder.taskId, holder.queued), {
        ownerTaskId: holder.taskId,
      }),
    );
  }
  for (const held of inputs.keyRunning ? (spec.concurrency ?? []) : []) {
    const limit = effectiveLimit(held, inputs.limits);
    const running = inputs.keyRunning!.get(held.key) ?? 0;
    if (running < limit) continue;
    const fields = { key: held.key, count: running, limit };
    blockers.push(blocker(TaskReason.CONCURRENCY_LIMITED, keyLimitMessage(held.key, running, limit), fields));
  }
  // A reason decided elsewhere (a rate limit, a retry-after), or one this server cannot work out: as stored.
  const decided = (reason: string) =>
    DECIDED_HERE.has(reason) || (reason === TaskReason.CONCURRENCY_LIMITED && inputs.keyRunning !== undefined);
  if (status.reason && !decided(status.reason)) {
    blockers.push(blocker(status.reason, status.message, { until: status.nextAttemptTime }));
  }
  if (busy) blockers.push(busy);
  blockers.push(...rateBlockers(inputs));
  const nextAttempt = status.nextAttemptTime;
  if (status.attempt > 0 && RETRY_REASONS.has(status.reason) && nextAttempt && nextAttempt.getTime() > nowMs) {
    blockers.push(
      blocker(TaskReason.BACKOFF, backoffMessage(status.attempt, lastEnd(status.reason), nextAttempt), {
        until: nextAttempt,
      }),
    );
  }
  if (status.attempt === 0 && spec.notBefore && spec.notBefore.getTime() > nowMs) {
    blockers.push(blocker(TaskReason.NOT_BEFORE, notBeforeMessage(spec.notBefore), { until: spec.notBefore }));
  }
  return { blockers, runners };
}

/**
 * RATE_LIMITED blockers, from the keys' stored state (written with the assigns that take tokens and the runs'
 * ends that pause keys, so every server reads what the dispatcher counts): a key paused by a retry-after, then
 * a rate-limit key without a token, each with when it lifts.
 */
function rateBlockers({ task, nowMs, keyStates, rates }: ExplainInputs): WaitBlocker[] {
  const spec = task.spec!;
  const blockers: WaitBlocker[] = [];
  const keys = new Set([...(spec.rateLimits ?? []).map((limit) => limit.key), ...concurrencyKeysOf(spec)]);
  for (const key of keys) {
    const state = keyStates.get(key);
    if (state && state.pausedUntilMs > nowMs) {
      const until = new Date(state.pausedUntilMs);
      blockers.push(
        blocker(TaskReason.RATE_LIMITED, keyPausedMessage(key, state.pausedUntilMs, state.pausedBy), { key, until }),
      );
    }
  }
  for (const limit of spec.rateLimits ?? []) {
    const state = keyStates.get(limit.key);
    const rate = effectiveRate(limit, rates);
    if (!state || !rate || conforms(state.tatMs, rate, nowMs) || state.pausedUntilMs > nowMs) continue;
    const dueMs = nextTokenMs(state.tatMs, rate);
    const until = new Date(Math.ceil(dueMs));
    blockers.push(
      blocker(TaskReason.RATE_LIMITED, noTokenMessage(limit.key, rate.label, dueMs), { key: limit.key, until }),
    );
  }
  return blockers;
}
