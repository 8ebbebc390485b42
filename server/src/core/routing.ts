import { supportsKind } from "@supervisor/sdk";
import { type LabelSelector, matchesSelector } from "./selector.js";

/** What routing needs to know about a runner. */
export interface RunnerCandidate {
  id: string;
  name: string;
  labels: Record<string, string>;
  kinds: readonly string[];
  capacity: number;
  running: number;
  /** Draining or disconnected runners take nothing new. */
  acceptsWork: boolean;
}

/** What routing needs to know about a task. */
export interface TaskRequirements {
  selector: LabelSelector;
  kind: string;
}

export function qualifies(runner: RunnerCandidate, task: TaskRequirements): boolean {
  return (
    runner.acceptsWork &&
    runner.running < runner.capacity &&
    supportsKind(runner.kinds, task.kind) &&
    matchesSelector(task.selector, runner.labels)
  );
}

/** Among qualifying runners, the least loaded (by share of capacity in use, then by runs, then by name). */
export function chooseRunner<R extends RunnerCandidate>(runners: Iterable<R>, task: TaskRequirements): R | undefined {
  let best: R | undefined;
  for (const runner of runners) {
    if (!qualifies(runner, task)) continue;
    if (!best || lessLoaded(runner, best)) best = runner;
  }
  return best;
}

function lessLoaded(a: RunnerCandidate, b: RunnerCandidate): boolean {
  const loadA = a.running / a.capacity;
  const loadB = b.running / b.capacity;
  if (loadA !== loadB) return loadA < loadB;
  if (a.running !== b.running) return a.running < b.running;
  return a.name < b.name;
}
