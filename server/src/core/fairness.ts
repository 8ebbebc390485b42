import type { Fairness } from "@supervisor/sdk";

/** A fairness weight: 1..1000 (0 in a spec means 1). */
export const MAX_FAIRNESS_WEIGHT = 1000;

/** Server-side weights by fairness key (config fairnessWeights); they win over the tasks' own. */
export type FairnessWeights = ReadonlyMap<string, number>;

export const fairnessWeightsOf = (config: Readonly<Record<string, number>>): FairnessWeights =>
  new Map(Object.entries(config));

/**
 * The weight a task's key takes its turns with: the server's weight for the key when one is configured, else
 * the task's own (0 = 1). An operator's weight wins so that a client cannot raise its own share.
 */
export const effectiveWeight = (fairness: Fairness, weights: FairnessWeights): number =>
  weights.get(fairness.key) ?? (fairness.weight || 1);
