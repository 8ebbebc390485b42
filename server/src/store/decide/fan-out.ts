import { type FanOutStatus, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import {
  childSpec,
  emptyFanOut,
  fanOutBucket,
  fanOutChildId,
  fanOutWindowEndMs,
  isFanOut,
} from "../../core/fan-out.js";
import { isActive, isTerminal, newTask } from "../../core/task-lifecycle.js";
import type { StoredTask } from "../backend.js";
import { promoteNext } from "./slots.js";
import type { WriteView } from "./view.js";

// A fan-out parent runs nothing: its status is its children's, kept true in the transaction of every
// change of a child (WriteView calls followChild), so a reader never sees a parent behind its children.

/** Stores a new child of `parent` on `runnerId` (PENDING, pinned); undefined when that child exists. */
function insertChild(view: WriteView, parent: Task, runnerId: string, nowMs: number): Task | undefined {
  const id = fanOutChildId(parent.id, runnerId);
  if (view.task(id)) return undefined;
  const child = newTask(id, childSpec(parent, runnerId), "", nowMs, "none");
  // In the parent's trace: each child's dispatch and run are spans of the submit that made the parent.
  return view.insertTask({ ...child, parentId: parent.id, traceparent: parent.traceparent }, "none");
}

/**
 * A fan-out submit: the parent (already admitted to its slot, not stored yet) and one child per runner
 * in `runnerIds`, stored together. Returns the parent as stored.
 */
export function insertFanOut(
  view: WriteView,
  parent: Task,
  slotState: "owner" | "none",
  runnerIds: readonly string[],
  nowMs: number,
): StoredTask {
  const fanOut = { ...emptyFanOut(), children: runnerIds.length, pending: runnerIds.length };
  const status = parentStatus(parent, fanOut, nowMs);
  const ended = isTerminal(status.phase);
  view.insertTask({ ...parent, status }, ended ? "none" : slotState);
  if (ended && slotState === "owner" && parent.spec!.slot) promoteNext(view, parent.spec!.slot, nowMs);
  for (const runnerId of runnerIds) insertChild(view, parent, runnerId, nowMs);
  return view.task(parent.id)!;
}

/** A child's phase changed (WriteView.updateTask): its parent counts it anew and may end. */
export function followChild(view: WriteView, previous: Task, next: Task): void {
  const from = fanOutBucket(previous.status!.phase);
  const to = fanOutBucket(next.status!.phase);
  if (from === to) return;
  const stored = view.task(next.parentId);
  if (!stored?.task.status?.fanOut) return;
  const fanOut = { ...stored.task.status!.fanOut };
  if (from) fanOut[from] = Math.max(0, fanOut[from] - 1);
  if (to) fanOut[to]++;
  settleParent(view, stored, fanOut, next.updateTime?.getTime() ?? 0);
}

/**
 * The parent with these counts: RUNNING while a child is active (or its window is open), ended once
 * neither is so. Cancel asked → CANCELED; no child at all → FAILED NO_MATCHING_RUNNER; more failed
 * than max_failed → FAILED CHILDREN_FAILED; else SUCCEEDED. A parent ended already only counts.
 */
export function settleParent(view: WriteView, stored: StoredTask, fanOut: FanOutStatus, nowMs: number): Task {
  const { task, slotState } = stored;
  const wasActive = isActive(task.status!.phase);
  const status = wasActive ? parentStatus(task, fanOut, nowMs) : { ...task.status!, fanOut };
  const ended = wasActive && isTerminal(status.phase);
  const updated = view.updateTask({ ...task, status, updateTime: new Date(nowMs) }, task, ended ? "none" : slotState);
  if (ended && slotState === "owner" && task.spec!.slot) promoteNext(view, task.spec!.slot, nowMs);
  return updated;
}

function parentStatus(parent: Task, fanOut: FanOutStatus, nowMs: number): Task["status"] & object {
  const status = parent.status!;
  const now = new Date(nowMs);
  const active = fanOut.pending + fanOut.running;
  const windowEndMs = fanOutWindowEndMs(parent);
  const waiting = !status.cancelRequested && nowMs < windowEndMs;
  const ended = `${fanOut.succeeded} succeeded, ${fanOut.failed} failed, ${fanOut.canceled} canceled`;
  const counts = `${fanOut.children} children: ${active} active, ${ended}`;
  if (active > 0 || (waiting && fanOut.children > 0)) {
    return {
      ...status,
      fanOut,
      phase: TaskPhase.TASK_PHASE_RUNNING,
      // A requested cancel keeps its reason until the children have ended.
      ...(status.cancelRequested ? {} : { reason: TaskReason.FANNED_OUT, message: counts }),
      startTime: status.startTime ?? now,
    };
  }
  if (waiting) {
    return {
      ...status,
      fanOut,
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.NO_MATCHING_RUNNER,
      message: `no matching runner yet; fanning out to those that connect until ${new Date(windowEndMs).toISOString()}`,
    };
  }
  const end = { ...status, fanOut, finishTime: now, nextAttemptTime: undefined };
  if (status.cancelRequested)
    return { ...end, phase: TaskPhase.TASK_PHASE_CANCELED, message: `${status.message}; ${counts}` };
  if (fanOut.children === 0) {
    return {
      ...end,
      phase: TaskPhase.TASK_PHASE_FAILED,
      reason: TaskReason.NO_MATCHING_RUNNER,
      message: "no connected runner matches its selector and has its kind",
    };
  }
  const maxFailed = parent.spec!.maxFailed;
  if (fanOut.failed > maxFailed) {
    return {
      ...end,
      phase: TaskPhase.TASK_PHASE_FAILED,
      reason: TaskReason.CHILDREN_FAILED,
      message: `${counts} (at most ${maxFailed} may fail)`,
    };
  }
  return { ...end, phase: TaskPhase.TASK_PHASE_SUCCEEDED, reason: TaskReason.SUCCEEDED, message: counts };
}

/**
 * A matching runner connected within the parent's window: it gets its child, unless it has one, the
 * window closed, or the parent ended or is being canceled. The child, or undefined when none was made.
 */
export function decideFanOutChild(
  view: WriteView,
  parentId: string,
  runnerId: string,
  nowMs: number,
): Task | undefined {
  const stored = view.task(parentId);
  if (!stored || !isFanOut(stored.task.spec) || !isActive(stored.task.status!.phase)) return undefined;
  const parent = stored.task;
  if (parent.status!.cancelRequested || nowMs >= fanOutWindowEndMs(parent)) return undefined;
  const child = insertChild(view, parent, runnerId, nowMs);
  if (!child) return undefined;
  const fanOut = parent.status!.fanOut ?? emptyFanOut();
  settleParent(view, stored, { ...fanOut, children: fanOut.children + 1, pending: fanOut.pending + 1 }, nowMs);
  return child;
}

/** The parent's window closed: it ends now if no child is active (else when the last one ends). */
export function decideFanOutWindowEnd(view: WriteView, parentId: string, nowMs: number): Task | undefined {
  const stored = view.task(parentId);
  if (!stored || !isFanOut(stored.task.spec) || !isActive(stored.task.status!.phase)) return undefined;
  const fanOut = stored.task.status!.fanOut ?? emptyFanOut();
  if (fanOut.pending + fanOut.running > 0 || nowMs < fanOutWindowEndMs(stored.task)) return undefined;
  return settleParent(view, stored, fanOut, nowMs);
}

/** A fan-out parent asked to stop (CancelTask, REPLACE): it ends at once if no child is active. */
export function settleStoppedParent(view: WriteView, task: Task, nowMs: number): void {
  if (!isFanOut(task.spec) || task.status!.phase !== TaskPhase.TASK_PHASE_RUNNING) return;
  settleParent(view, view.task(task.id)!, task.status!.fanOut ?? emptyFanOut(), nowMs);
}
