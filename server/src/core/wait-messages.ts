import type { DispatchPause } from "@supervisor/sdk";
import type { Fit, FitCandidate } from "./runner-fit.js";

/**
 * Why a pending task waits, in words: the messages of TaskStatus (kept true by WaitingReasons) and of
 * ExplainTask's blockers, written in one place so both say the same.
 */

/** The closest runner's first unmet requirement, and how many more it fails. */
function failsText(fit: Fit<FitCandidate>): string {
  const [first, ...rest] = fit.unmet;
  const more = rest.length === 0 ? "" : ` and ${rest.length} more requirement${rest.length === 1 ? "" : "s"}`;
  return `fails ${first!.requirement} (${first!.has})${more}`;
}

/**
 * No runner fits: the closest one (`closest`, from closestFit over the runners known) and the first
 * requirement it fails, or that there is none to compare with.
 */
export function noMatchingRunnerMessage(closest: Fit<FitCandidate> | undefined, pinnedRunnerId?: string): string {
  if (pinnedRunnerId !== undefined) {
    if (closest?.runner.id !== pinnedRunnerId) return `pinned to runner ${pinnedRunnerId}, which is not connected`;
    return `pinned to runner ${closest.runner.name} (${pinnedRunnerId}), which ${failsText(closest)}`;
  }
  if (!closest) return "no runner is connected";
  return `no connected runner matches; the closest, ${closest.runner.name}, ${failsText(closest)}`;
}

/** Runners fit, and every one of them (`matching`) is full or draining. */
export function runnersBusyMessage(matching: number, pinned?: { id: string; name: string }): string {
  if (pinned) return `pinned to runner ${pinned.name} (${pinned.id}), which is at capacity or draining`;
  return matching === 1
    ? "the one matching runner is at capacity or draining"
    : `all ${matching} matching runners are at capacity or draining`;
}

/** A concurrency key at its limit (0: max_running 0 named a server limit that is not configured). */
export function keyLimitMessage(key: string, running: number, limit: number): string {
  return limit === 0
    ? `concurrency key ${key} has no limit: max_running 0 names the server's, and none is configured`
    : `concurrency key ${key} is at its limit: ${running} of ${limit} running`;
}

/** What a pause holds, for people: "slot nightly", "concurrency key tenant-a", "labels tier=batch". */
export function describeTarget(pause: DispatchPause): string {
  const target = pause.target;
  if (target?.$case === "slot") return `slot ${target.value}`;
  if (target?.$case === "concurrencyKey") return `concurrency key ${target.value}`;
  if (target?.$case === "labelSelector") return `labels ${target.value}`;
  return "nothing";
}

export function pausedMessage(pause: DispatchPause): string {
  return `dispatch paused by ${pause.id} (${describeTarget(pause)})${pause.note ? `: ${pause.note}` : ""}`;
}

/** The slot is another task's: it waits in the slot's queue, or for a replaced owner to stop. */
export function slotHeldMessage(slot: string, ownerTaskId: string, queued: boolean): string {
  return queued
    ? `queued behind task ${ownerTaskId}, the active task of slot ${slot}`
    : `slot ${slot} is still held by task ${ownerTaskId}, which is stopping`;
}

/** A rate-limit key without a token: when the next is due. */
export function noTokenMessage(key: string, rateLabel: string, dueMs: number): string {
  const due = new Date(Math.ceil(dueMs)).toISOString();
  return `rate limit ${key} (${rateLabel}) has no token: the next is due at ${due}`;
}

/** A key paused by a run's retry-after. */
export function keyPausedMessage(key: string, untilMs: number, runId: string): string {
  const until = new Date(untilMs).toISOString();
  return `key ${key} is paused until ${until} by a retry-after of run ${runId || "(unknown)"}`;
}

export function backoffMessage(attempt: number, lastReason: string, until: Date): string {
  return `backing off after attempt ${attempt}${lastReason ? ` (${lastReason})` : ""} until ${until.toISOString()}`;
}

export function notBeforeMessage(until: Date): string {
  return `not before ${until.toISOString()}`;
}
