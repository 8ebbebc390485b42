import { supportsKind } from "@supervisor/sdk";
import { formatLabelSelector, type LabelSelector, matchesSelector, type Requirement } from "./selector.js";

/**
 * How a runner compares with what a task asks of it — its pin, its kind, each term of its selector —
 * capacity aside. Routing (the dispatch index's classes), the waiting reasons and ExplainTask all
 * decide "does this runner fit" here, so what `supervisor explain` says fails is what routing checks.
 */

/** What a task asks of a runner. */
export interface RunnerRequirements {
  kind: string;
  selector: LabelSelector;
  /** Only this runner may run it (TaskSpec.pinned_runner_id). */
  pinnedRunnerId?: string;
}

/** What fitting looks at in a runner. */
export interface FitCandidate {
  id: string;
  name: string;
  labels: Record<string, string>;
  kinds: readonly string[];
}

/** One requirement a runner fails: as the task wrote it ("gpu=a100", "kind wasm"), and what the runner has. */
export interface UnmetRequirement {
  requirement: string;
  /** "it has gpu=t4", "it has no label gpu", "it runs subprocess, wasm". */
  has: string;
}

/** A runner compared with a task's requirements: what it fails, the first one first (none: it fits). */
export interface Fit<R extends FitCandidate> {
  runner: R;
  unmet: UnmetRequirement[];
}

const labelOf = (labels: Record<string, string>, key: string) => (Object.hasOwn(labels, key) ? labels[key] : undefined);

/** Whether the runner meets every requirement (capacity aside): routing's check, allocating nothing. */
export function meetsRequirements(runner: FitCandidate, requirements: RunnerRequirements): boolean {
  return (
    (requirements.pinnedRunnerId === undefined || runner.id === requirements.pinnedRunnerId) &&
    supportsKind(runner.kinds, requirements.kind) &&
    matchesSelector(requirements.selector, runner.labels)
  );
}

function labelHas(labels: Record<string, string>, term: Requirement): string {
  const value = labelOf(labels, term.key);
  return value === undefined ? `it has no label ${term.key}` : `it has ${term.key}=${value}`;
}

/** Every requirement the runner fails, in the order checked: the pin, the kind, then each selector term. */
export function unmetRequirements(runner: FitCandidate, requirements: RunnerRequirements): UnmetRequirement[] {
  const unmet: UnmetRequirement[] = [];
  const pin = requirements.pinnedRunnerId;
  if (pin !== undefined && runner.id !== pin) {
    unmet.push({ requirement: `pinned to runner ${pin}`, has: "it is another runner" });
  }
  // A task with init steps asks for its kind and subprocess ("embedded:x+subprocess"): each missing one is named.
  const kinds = runner.kinds.length > 0 ? `it runs ${runner.kinds.join(", ")}` : "it runs no kind";
  const [kind, ...also] = requirements.kind.split("+");
  if (!supportsKind(runner.kinds, kind!)) unmet.push({ requirement: `kind ${kind}`, has: kinds });
  for (const extra of also) {
    if (!supportsKind(runner.kinds, extra))
      unmet.push({ requirement: `kind ${extra}, for its init steps`, has: kinds });
  }
  for (const term of requirements.selector) {
    if (!matchesSelector([term], runner.labels)) {
      unmet.push({ requirement: formatLabelSelector([term]), has: labelHas(runner.labels, term) });
    }
  }
  return unmet;
}

/**
 * Whether `a` is closer to fitting than `b`: for a pinned task its runner first (no other can run it),
 * then the one failing fewer requirements, then by name.
 */
function closer(a: Fit<FitCandidate>, b: Fit<FitCandidate>, pin: string | undefined): boolean {
  if (pin !== undefined && (a.runner.id === pin) !== (b.runner.id === pin)) return a.runner.id === pin;
  if (a.unmet.length !== b.unmet.length) return a.unmet.length < b.unmet.length;
  return a.runner.name < b.runner.name;
}

/** Every runner compared with the requirements, closest first (those that fit first of all). */
export function rankByFit<R extends FitCandidate>(runners: Iterable<R>, requirements: RunnerRequirements): Fit<R>[] {
  const fits = Array.from(runners, (runner) => ({ runner, unmet: unmetRequirements(runner, requirements) }));
  const pin = requirements.pinnedRunnerId;
  return fits.sort((a, b) => (closer(a, b, pin) ? -1 : closer(b, a, pin) ? 1 : 0));
}

/** The closest runner to fitting (the first of rankByFit), in one pass; undefined when there is none. */
export function closestFit<R extends FitCandidate>(
  runners: Iterable<R>,
  requirements: RunnerRequirements,
): Fit<R> | undefined {
  let best: Fit<R> | undefined;
  for (const runner of runners) {
    const fit = { runner, unmet: unmetRequirements(runner, requirements) };
    if (!best || closer(fit, best, requirements.pinnedRunnerId)) best = fit;
  }
  return best;
}
