import { type RunnerInfo as Runner, RunPhase, type Task } from "@supervisor/sdk";
import type { AttemptOptions } from "../core/attempt-outcome.js";
import { fanOutChildId } from "../core/fan-out.js";
import { isActive } from "../core/task-lifecycle.js";
import { DomainError } from "../errors.js";
import type { OutputChunkRecord, StoredTask } from "./backend.js";
import { decideCancel, decideCancelChild } from "./decide/cancel.js";
import { decideFanOutChild, decideFanOutWindowEnd } from "./decide/fan-out.js";
import { decidePinnedRunnerGone } from "./decide/pinned.js";
import { decideExpire } from "./decide/retention.js";
import {
  claimedSince,
  decideDeleteRunner,
  decidePutRunner,
  decideSetDraining,
  decideTakeName,
} from "./decide/runners.js";
import {
  type Assignee,
  decideAssign,
  decideFinish,
  decideOutput,
  decideStart,
  decideWaitingReason,
  type FinishedRun,
  type RunEnd,
  type RunOutputFigures,
} from "./decide/runs.js";
import { decideSubmit, type SubmitParams, type SubmitSettings, submitReads } from "./decide/submit.js";
import { mergeReads, type WriteRequest } from "./group-commit.js";

// Every write of the system as a request for the group commit: what it reads, and its decision.

export const submitWrite = (params: SubmitParams, settings: SubmitSettings): WriteRequest<Task> => ({
  reads: submitReads(params),
  decide: (view, nowMs) => decideSubmit(view, params, settings, nowMs).task,
});

/** A submit answered with the task as stored: its encoding goes out as it is (SubmitTask, BatchSubmitTasks). */
export const submitStoredWrite = (params: SubmitParams, settings: SubmitSettings): WriteRequest<StoredTask> => ({
  reads: submitReads(params),
  decide: (view, nowMs) => decideSubmit(view, params, settings, nowMs),
});

/** All or nothing: the first refusal (it names its request_index) drops every submit of the batch. */
export const batchSubmitWrite = (
  all: readonly SubmitParams[],
  settings: SubmitSettings,
): WriteRequest<StoredTask[]> => ({
  reads: mergeReads(all.map(submitReads)),
  decide: (view, nowMs) =>
    all.map((params, index) => forRequest(index, () => decideSubmit(view, params, settings, nowMs))),
});

/** Runs one request's part of a batch; a refusal names the request (metadata request_index). */
export function forRequest<T>(index: number, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DomainError) error.metadata.request_index = String(index);
    throw error;
  }
}

/** A pending task pinned to a deleted runner ends (decide/pinned.ts). */
export const pinnedRunnerGoneWrite = (taskId: string, runnerId: string): WriteRequest<Task | undefined> => ({
  reads: { tasks: [taskId] },
  decide: (view, nowMs) => decidePinnedRunnerGone(view, taskId, runnerId, nowMs),
});

export const cancelWrite = (id: string, message: string): WriteRequest<Task> => ({
  reads: { tasks: [id] },
  decide: (view, nowMs) => decideCancel(view, id, message, nowMs),
});

/** The leader's cascade: one child of a canceled fan-out parent stops. */
export const cancelChildWrite = (id: string): WriteRequest<Task | undefined> => ({
  reads: { tasks: [id] },
  decide: (view, nowMs) => decideCancelChild(view, id, nowMs),
});

/** A runner that connected within a parent's fan_out_window gets its child (once: the child's id is fixed). */
export const fanOutChildWrite = (parentId: string, runnerId: string): WriteRequest<Task | undefined> => ({
  reads: { tasks: [parentId, fanOutChildId(parentId, runnerId)] },
  decide: (view, nowMs) => decideFanOutChild(view, parentId, runnerId, nowMs),
});

/** A parent's fan_out_window closed: it ends if no child is active. */
export const fanOutWindowEndWrite = (parentId: string): WriteRequest<Task | undefined> => ({
  reads: { tasks: [parentId] },
  decide: (view, nowMs) => decideFanOutWindowEnd(view, parentId, nowMs),
});

/**
 * One task of a CancelTasks: CancelTask's decision, for a task that is still active when its batch is decided.
 * One that ended (or was deleted) since it was listed is left alone: false, not an error.
 */
export const cancelIfActiveWrite = (id: string, message: string): WriteRequest<boolean> => ({
  reads: { tasks: [id] },
  decide: (view, nowMs) => {
    const stored = view.task(id);
    if (!stored || !isActive(stored.task.status!.phase)) return false;
    decideCancel(view, id, message, nowMs);
    return true;
  },
});

export const assignWrite = (
  taskId: string,
  runId: string,
  runner: Assignee,
  historyLimit: number,
): WriteRequest<ReturnType<typeof decideAssign>> => ({
  reads: { tasks: [taskId] },
  decide: (view, nowMs) => decideAssign(view, taskId, runId, runner, historyLimit, nowMs),
});

/**
 * Whether the assign of `runId` committed, as the store has it: after a commit whose answer was lost
 * (PostgreSQL stopped under it), only the store knows. Read on the write path (after every commit before
 * it; on PostgreSQL on the connection that holds the writer lock, so the lost session is over). Writes nothing.
 */
export const assignOutcomeWrite = (taskId: string, runId: string): WriteRequest<ReturnType<typeof decideAssign>> => ({
  reads: { runs: [runId], tasks: [taskId] },
  decide: (view) => {
    const run = view.run(runId);
    const stored = view.task(taskId);
    return run && stored ? { run, task: stored.task } : undefined;
  },
});

export const startWrite = (
  runId: string,
  taskId: string,
  startedAtMs: number,
  logUrl?: string,
): WriteRequest<ReturnType<typeof decideStart>> => ({
  reads: { runs: [runId], tasks: [taskId] },
  decide: (view, nowMs) => decideStart(view, runId, taskId, startedAtMs, nowMs, logUrl),
});

export const finishWrite = (
  run: { runId: string; taskId: string; slot: string },
  end: RunEnd,
  output: RunOutputFigures,
  options: AttemptOptions,
): WriteRequest<FinishedRun | undefined> => ({
  // The slot's owner and queue too: a terminal task hands its slot on in the same commit.
  reads: {
    runs: [run.runId],
    tasks: [run.taskId],
    slotOwners: run.slot ? [run.slot] : [],
    slotQueues: run.slot ? [run.slot] : [],
  },
  decide: (view, nowMs) => decideFinish(view, run.runId, run.taskId, end, output, options, nowMs),
});

/**
 * Stores a chunk (asked for when the batch is decided: by then the cap may
 * have pushed it out, and it is not written at all) and deletes the chunks
 * the cap pushed out.
 */
export const outputWrite = (
  runId: string,
  dropSeqs: readonly number[],
  chunk: () => OutputChunkRecord | undefined,
): WriteRequest<void> => ({
  reads: {},
  decide: (view) => decideOutput(view, chunk(), runId, dropSeqs),
});

export const waitingReasonWrite = (
  changes: readonly { taskId: string; reason: string; message: string }[],
): WriteRequest<number> => ({
  reads: { tasks: changes.map((change) => change.taskId) },
  decide: (view, nowMs) =>
    changes.filter((change) => decideWaitingReason(view, change.taskId, change.reason, change.message, nowMs)).length,
});

export const putRunnerWrite = (runner: Runner, serverId?: string | null): WriteRequest<Runner> => ({
  reads: {},
  decide: (view) => decidePutRunner(view, runner, serverId),
});

/** A hello's record when several servers share the database: the name is taken there (decideTakeName). */
export const takeRunnerNameWrite = (
  runner: Runner,
  serverId: string,
  liveServers: ReadonlySet<string>,
): WriteRequest<Runner> => ({
  reads: { runnerNames: [runner.name] },
  decide: (view) => decideTakeName(view, runner, serverId, liveServers),
});

/** DrainRunner / UndrainRunner forwarded through the database to the server holding the runner (decideSetDraining). */
export const setDrainingWrite = (seen: Runner, draining: boolean): WriteRequest<Runner | undefined> => ({
  reads: { runnerNames: [seen.name] },
  decide: (view) => decideSetDraining(view, seen, draining),
});

/**
 * `write`, but only while the runner's record is the connection `seen` (no hello anywhere since: a hello
 * writes a new connect time). A runner that connected to another server meanwhile is that server's now:
 * nothing is written, and the result is undefined.
 */
export const unlessClaimed = <R>(write: WriteRequest<R>, seen: Runner): WriteRequest<R | undefined> => ({
  reads: { ...write.reads, runnerNames: [...(write.reads.runnerNames ?? []), seen.name] },
  decide: (view, nowMs) => (claimedSince(seen, view.runnerByName(seen.name)) ? undefined : write.decide(view, nowMs)),
});

/**
 * The leader ends a run of a runner nobody serves (its server died) as LOST, unless the runner connected
 * again somewhere since `seen`. Its output went to the server that held it: the run keeps the figures stored.
 */
export const loseUnclaimedWrite = (
  run: { runId: string; taskId: string; slot: string },
  seen: Runner,
  why: string,
  options: AttemptOptions,
): WriteRequest<FinishedRun | undefined> =>
  unlessClaimed(
    {
      reads: finishWrite(run, { phase: RunPhase.RUN_PHASE_LOST as const }, { bytes: 0, truncated: false }, options)
        .reads,
      decide: (view, nowMs) => {
        const stored = view.run(run.runId);
        const output = { bytes: stored?.outputBytes ?? 0, truncated: stored?.outputTruncated ?? false };
        const end = { phase: RunPhase.RUN_PHASE_LOST as const, error: why };
        return decideFinish(view, run.runId, run.taskId, end, output, options, nowMs);
      },
    },
    seen,
  );

export const deleteRunnerWrite = (runner: Runner): WriteRequest<void> => ({
  reads: {},
  decide: (view) => decideDeleteRunner(view, runner),
});

export const expireTasksWrite = (candidates: readonly Task[], cutoffMs: number): WriteRequest<number> => ({
  reads: { tasks: candidates.map((task) => task.id) },
  decide: (view) => decideExpire(view, candidates, cutoffMs),
});

export const expireKeysWrite = (beforeMs: number, limit: number): WriteRequest<void> => ({
  reads: {},
  decide: (view) => view.expireIdempotencyKeys(beforeMs, limit),
});

/** The leader's janitor: the rate_keys rows of keys full and unpaused by `beforeMs` go (no row says the same). */
export const expireRateKeysWrite = (beforeMs: number): WriteRequest<void> => ({
  reads: {},
  decide: (view) => view.expireRateKeys(beforeMs),
});

export const compactJournalWrite = (throughRevision: number): WriteRequest<void> => ({
  reads: {},
  decide: (view) => view.compactJournalThrough(throughRevision),
});
