import { EventType, RunPhase, Trigger } from "@supervisor/sdk";
import { enumWord, phaseWord } from "../core/enum-words.js";
import { isTerminal } from "../core/task-lifecycle.js";
import type { WriteSet } from "../store/backend.js";
import type { CommitObserver } from "../store/group-commit.js";
import type { ServerMetrics } from "./server-metrics.js";

// Enum words as label values: "SUCCEEDED", "SCHEDULE" (UNSPECIFIED triggers are API's).
const triggerWord = (trigger: Trigger) => enumWord(Trigger, "TRIGGER_")(trigger || Trigger.TRIGGER_API);

const isEnded = (phase: RunPhase) => phase !== RunPhase.RUN_PHASE_ASSIGNED && phase !== RunPhase.RUN_PHASE_RUNNING;

/**
 * Counts what one committed batch of this server wrote: one pass over its writes, which the commit
 * has in hand anyway, so every server counts exactly its own commits and nothing is read back.
 * `poolOf` names a runner's pool (its `pool` label, "" without one).
 */
export function countWrites(metrics: ServerMetrics, writes: WriteSet, poolOf: (runnerId: string) => string): void {
  for (const { change } of writes.tasks) {
    if (change.type === EventType.EVENT_TYPE_DELETED) continue;
    const { task } = change;
    const phase = task.status!.phase;
    if (change.type === EventType.EVENT_TYPE_ADDED)
      metrics.tasksSubmitted.inc({ trigger: triggerWord(task.spec!.trigger) });
    const wasActive =
      change.type === EventType.EVENT_TYPE_ADDED ||
      (change.previous !== undefined && !isTerminal(change.previous.phase));
    if (isTerminal(phase) && wasActive) {
      metrics.tasksFinished.inc({ phase: phaseWord(phase), trigger: triggerWord(task.spec!.trigger) });
    }
  }
  for (const run of writes.runs) {
    if (!isEnded(run.phase) || !run.finishTime) continue;
    if (run.phase === RunPhase.RUN_PHASE_LOST) metrics.runsLost.inc();
    const startedMs = (run.startTime ?? run.assignTime)?.getTime();
    if (startedMs !== undefined) {
      const seconds = Math.max(0, run.finishTime.getTime() - startedMs) / 1000;
      metrics.runDuration.observe({ pool: poolOf(run.runnerId) }, seconds);
    }
  }
  let stored = 0;
  for (const chunk of writes.outputChunks) stored += chunk.data.length;
  if (stored > 0) metrics.outputStored.inc(stored);
}

/** The group commit's observer: commit latency, batch size and errors, and what each batch wrote. */
export function commitObserver(metrics: ServerMetrics, poolOf: (runnerId: string) => string): CommitObserver {
  return {
    committed(writes, requests, seconds) {
      metrics.commitLatency.observe(seconds);
      if (requests > 0) metrics.commitBatchSize.observe(requests);
      countWrites(metrics, writes, poolOf);
    },
    failed(requests, seconds) {
      metrics.commitErrors.inc();
      metrics.commitLatency.observe(seconds);
      if (requests > 0) metrics.commitBatchSize.observe(requests);
    },
  };
}
