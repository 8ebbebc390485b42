import type { TaskPhase } from "@supervisor/sdk";
import { fanOutChildIdPrefix, PARENT_LABEL } from "../core/fan-out.js";
import { type CompiledFilter, matchesFilter } from "../core/task-filter.js";
import type { ListTasksParams } from "./backend.js";

/** Rows a label-selector page may scan before it returns a short page with a token (bounds the cost of a page). */
const SELECTOR_SCAN_BUDGET = 5_000;

/**
 * A compiled filter as the backend's list query: the columns it can match in
 * SQL, and the label selector applied row by row, within a scan budget.
 */
export function listParams(filter: CompiledFilter, beforeId: string | undefined, limit: number): ListTasksParams {
  const parentId = filter.parentId;
  return {
    slot: filter.slot,
    phases: filter.phases,
    runnerId: filter.runnerId,
    idPrefix: parentId ? childPrefix(parentId, filter.idPrefix) : filter.idPrefix,
    beforeId,
    limit,
    scanBudget: SELECTOR_SCAN_BUDGET,
    // A parent's children are the ids of its millisecond (fanOutChildId) that carry its label: SQL reads the
    // id range, the label tells them from the tasks submitted in the same millisecond.
    accept:
      filter.selector || parentId
        ? (labels, row) =>
            matchesFilter(filter, {
              ...row,
              labels,
              phase: row.phase as TaskPhase,
              parentId: labels[PARENT_LABEL] ?? "",
            })
        : undefined,
  };
}

/** The id prefix of a parent's children, narrowed by the filter's own id prefix (one that cannot match: nothing). */
function childPrefix(parentId: string, idPrefix: string | undefined): string {
  const prefix = fanOutChildIdPrefix(parentId);
  if (idPrefix === undefined || idPrefix.startsWith(prefix)) return idPrefix ?? prefix;
  // "~" sorts after every id character: a prefix no id starts with.
  return prefix.startsWith(idPrefix) ? prefix : "~";
}
