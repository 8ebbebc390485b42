import { RestartPolicy, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { promoteNext } from "./slots.js";
import type { WriteView } from "./view.js";

/**
 * The runner a pending task is pinned to was deleted (DeleteRunner: gone for good), so the task can
 * never run: it ends as its restart policy leaves it after a lost attempt with none to follow —
 * EXHAUSTED when it had attempts and its policy retries, FAILED otherwise — with reason RUNNER_LOST,
 * never moved to another runner. Undefined when it is no longer pending, or pinned elsewhere.
 */
export function decidePinnedRunnerGone(view: WriteView, taskId: string, runnerId: string, nowMs: number) {
  const stored = view.task(taskId);
  if (!stored) return undefined;
  const { task, slotState } = stored;
  if (task.status!.phase !== TaskPhase.TASK_PHASE_PENDING || task.spec!.pinnedRunnerId !== runnerId) return undefined;
  const restart = task.spec!.restart;
  const retries =
    restart === RestartPolicy.RESTART_POLICY_ON_FAILURE || restart === RestartPolicy.RESTART_POLICY_ALWAYS;
  const now = new Date(nowMs);
  const ended: Task = {
    ...task,
    status: {
      ...task.status!,
      phase: retries && task.status!.attempt > 0 ? TaskPhase.TASK_PHASE_EXHAUSTED : TaskPhase.TASK_PHASE_FAILED,
      reason: TaskReason.RUNNER_LOST,
      message: `pinned to runner ${runnerId}, which was deleted: it runs nowhere else`,
      finishTime: now,
      nextAttemptTime: undefined,
    },
    updateTime: now,
  };
  const updated = view.updateTask(ended, task, "none");
  if (slotState === "owner" && task.spec!.slot) promoteNext(view, task.spec!.slot, nowMs);
  return updated;
}
