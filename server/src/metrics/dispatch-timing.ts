import type { Run, Task } from "@supervisor/sdk";
import type { ServerMetrics } from "./server-metrics.js";

/**
 * Schedule-to-start, observed by the leader as an assign commits: from when the attempt could
 * first start (`readyAtMs`: not_before or the end of its backoff; the submit itself when 0) to
 * the assign. It includes waiting for its slot and for a runner with room.
 */
export function observeAssign(
  metrics: ServerMetrics | undefined,
  task: Task,
  run: Run,
  readyAtMs: number,
  pool: string | undefined,
): void {
  if (!metrics || !run.assignTime) return;
  const fromMs = Math.max(readyAtMs, task.createTime?.getTime() ?? 0);
  metrics.scheduleToStart.observe({ pool: pool ?? "" }, Math.max(0, run.assignTime.getTime() - fromMs) / 1000);
}

/** Dispatch latency, observed where the assign is sent: first attempts only, from the submit's commit. */
export function observeAssignSent(metrics: ServerMetrics | undefined, task: Task, run: Run, nowMs: number): void {
  if (!metrics || run.attempt !== 1 || !task.createTime) return;
  metrics.dispatchLatency.observe(Math.max(0, nowMs - task.createTime.getTime()) / 1000);
}
