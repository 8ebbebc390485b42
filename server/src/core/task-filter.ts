import { createHash } from "node:crypto";
import { type Task, type TaskFilter, TaskPhase } from "@supervisor/sdk";
import { canonicalSelector, type LabelSelector, matchesSelector, parseLabelSelector } from "./selector.js";

/** A validated TaskFilter, ready to match tasks in memory and to shape SQL. */
export interface CompiledFilter {
  slot?: string;
  phases?: TaskPhase[];
  runnerId?: string;
  /** Lowercase: ids are. */
  idPrefix?: string;
  selector?: LabelSelector;
  /** Only the children of this fan-out parent. */
  parentId?: string;
  /** Short fingerprint that binds page tokens to this filter. */
  key: string;
}

/** Parses the filter; a bad label selector throws SelectorSyntaxError (the caller maps it to a field). */
export function compileFilter(filter: TaskFilter | undefined): CompiledFilter {
  const selector = filter?.labelSelector ? parseLabelSelector(filter.labelSelector) : undefined;
  const phases = filter?.phases.length ? [...new Set(filter.phases)].sort((a, b) => a - b) : undefined;
  const compiled = {
    slot: filter?.slot || undefined,
    phases,
    runnerId: filter?.runnerId || undefined,
    idPrefix: filter?.idPrefix ? filter.idPrefix.toLowerCase() : undefined,
    selector: selector && selector.length > 0 ? selector : undefined,
    parentId: filter?.parentId || undefined,
  };
  const canonical = JSON.stringify([
    compiled.slot,
    compiled.phases,
    compiled.runnerId,
    selector ? canonicalSelector(selector) : "",
    // Only when set, so tokens issued before the field existed keep working.
    ...(compiled.idPrefix ? [compiled.idPrefix] : []),
    ...(compiled.parentId ? [`parent:${compiled.parentId}`] : []),
  ]);
  return { ...compiled, key: createHash("sha256").update(canonical).digest("base64url").slice(0, 16) };
}

/** The attributes a filter looks at; phase and runner change over a task's life, id, slot, labels and parent do not. */
export interface FilterAttributes {
  id: string;
  slot: string;
  labels: Record<string, string>;
  phase: TaskPhase;
  runnerId: string;
  /** A fan-out child's parent ("" for any other task). */
  parentId: string;
}

export const attributesOf = (task: Task): FilterAttributes => ({
  id: task.id,
  slot: task.spec?.slot ?? "",
  labels: task.spec?.labels ?? {},
  phase: task.status?.phase ?? TaskPhase.TASK_PHASE_UNSPECIFIED,
  runnerId: task.status?.runnerId ?? "",
  parentId: task.parentId ?? "",
});

export function matchesFilter(filter: CompiledFilter, attributes: FilterAttributes): boolean {
  if (filter.slot !== undefined && attributes.slot !== filter.slot) return false;
  if (filter.phases && !filter.phases.includes(attributes.phase)) return false;
  if (filter.runnerId !== undefined && attributes.runnerId !== filter.runnerId) return false;
  if (filter.idPrefix !== undefined && !attributes.id.startsWith(filter.idPrefix)) return false;
  if (filter.parentId !== undefined && attributes.parentId !== filter.parentId) return false;
  if (filter.selector && !matchesSelector(filter.selector, attributes.labels)) return false;
  return true;
}
