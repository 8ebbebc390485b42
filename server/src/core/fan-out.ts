import { createHash } from "node:crypto";
import {
  type FanOutStatus,
  Placement,
  routingKind,
  supportsKind,
  type Task,
  TaskPhase,
  type TaskSpec,
} from "@supervisor/sdk";
import type { RunnerCandidate } from "./routing.js";
import { matchesSelector, selectorFromRunnerSelector } from "./selector.js";
import { durationToMs } from "./task-spec.js";

/** The label every fan-out child carries: its parent's id (besides Task.parent_id, for label selectors). */
export const PARENT_LABEL = "supervisor.dev/parent";

export const isFanOut = (spec: TaskSpec | undefined): boolean =>
  spec?.placement === Placement.PLACEMENT_EACH_MATCHING_RUNNER;

export const emptyFanOut = (): FanOutStatus => ({
  children: 0,
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  canceled: 0,
});

/** The counter of FanOutStatus a child in `phase` counts in. */
export function fanOutBucket(phase: TaskPhase): Exclude<keyof FanOutStatus, "children"> | undefined {
  switch (phase) {
    case TaskPhase.TASK_PHASE_PENDING:
      return "pending";
    case TaskPhase.TASK_PHASE_RUNNING:
      return "running";
    case TaskPhase.TASK_PHASE_SUCCEEDED:
      return "succeeded";
    case TaskPhase.TASK_PHASE_FAILED:
    case TaskPhase.TASK_PHASE_TIMEOUT:
    case TaskPhase.TASK_PHASE_EXHAUSTED:
      return "failed";
    case TaskPhase.TASK_PHASE_CANCELED:
      return "canceled";
    default:
      return undefined;
  }
}

/** When a parent's fan_out_window closes (ms); its create time when it has none. */
export function fanOutWindowEndMs(parent: Task): number {
  const created = parent.createTime?.getTime() ?? 0;
  return created + (parent.spec?.fanOutWindow ? durationToMs(parent.spec.fanOutWindow) : 0);
}

/**
 * The id of a parent's child on a runner, the same every time it is computed: a second child for the
 * same runner is the same row (the store's primary key refuses it), so no path (a retried submit, a
 * runner connecting twice within the window, two leaders one after the other) stores two. A UUIDv7 with
 * the parent's timestamp (children sort with their parent) and 74 bits of hash(parent, runner).
 */
export function fanOutChildId(parentId: string, runnerId: string): string {
  const hex = createHash("sha256").update(`${parentId}\n${runnerId}`).digest("hex");
  const time = parentId.replaceAll("-", "").slice(0, 12);
  const variant = ((Number.parseInt(hex[3]!, 16) & 0x3) | 0x8).toString(16);
  const random = `7${hex.slice(0, 3)}-${variant}${hex.slice(4, 7)}-${hex.slice(7, 19)}`;
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${random}`;
}

/** What every child id of a parent starts with (its parent's millisecond): ListTasks reads that id range. */
export const fanOutChildIdPrefix = (parentId: string): string => parentId.slice(0, 13);

/**
 * The spec of a parent's child on one runner: the parent's, run once on that runner (placement ANY,
 * pinned), outside the parent's slot (the parent holds it), labelled with the parent. The signature is
 * left out: it signed the parent's placement, which the child does not have (a runner requiring
 * signatures refuses children; see docs/concepts/fan-out.md).
 */
export function childSpec(parent: Task, runnerId: string): TaskSpec {
  const spec = parent.spec!;
  return {
    ...spec,
    slot: "",
    admission: 0,
    placement: Placement.PLACEMENT_ANY,
    fanOutWindow: undefined,
    maxFailed: 0,
    pinnedRunnerId: runnerId,
    signature: undefined,
    labels: { ...spec.labels, [PARENT_LABEL]: parent.id },
  };
}

/** A runner a parent fans out to: connected and taking work, its kind and labels fitting the parent's. */
export function fanOutTarget(spec: TaskSpec, runner: Pick<RunnerCandidate, "labels" | "kinds">): boolean {
  const kind = routingKind(spec);
  if (!kind || !supportsKind(runner.kinds, kind)) return false;
  const selector = selectorFromRunnerSelector(spec.runnerSelector ?? { matchLabels: {}, matchExpressions: [] });
  return matchesSelector(selector, runner.labels);
}
