import type { TaskPhase } from "@supervisor/sdk";
import { type CompiledFilter, matchesFilter } from "../core/task-filter.js";
import type { ListTasksParams } from "./backend.js";

/** Rows a label-selector page may scan before it returns a short page with a token (bounds the cost of a page). */
const SELECTOR_SCAN_BUDGET = 5_000;

/**
 * A compiled filter as the backend's list query: the columns it can match in
 * SQL, and the label selector applied row by row, within a scan budget.
 */
export function listParams(filter: CompiledFilter, beforeId: string | undefined, limit: number): ListTasksParams {
  return {
    slot: filter.slot,
    phases: filter.phases,
    runnerId: filter.runnerId,
    idPrefix: filter.idPrefix,
    beforeId,
    limit,
    scanBudget: SELECTOR_SCAN_BUDGET,
    accept: filter.selector
      ? (labels, row) => matchesFilter(filter, { ...row, labels, phase: row.phase as TaskPhase })
      : undefined,
  };
}
