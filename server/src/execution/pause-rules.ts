import type { DispatchPause } from "@supervisor/sdk";
import { type LabelSelector, matchesSelector, parseLabelSelector } from "../core/selector.js";
import type { PendingEntry } from "./dispatch-index.js";

/**
 * The dispatch pauses in force, compiled for the dispatcher: a slot and a key are one map look-up each,
 * a label selector is matched against the task's labels. With no pause at all (`size` 0) the dispatcher
 * asks nothing: unpaused dispatch costs what it did.
 */
export class PauseRules {
  private readonly bySlot = new Map<string, DispatchPause>();
  private readonly byKey = new Map<string, DispatchPause>();
  private selectors: { pause: DispatchPause; selector: LabelSelector }[] = [];
  private readonly byId = new Map<string, DispatchPause>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): DispatchPause | undefined {
    return this.byId.get(id);
  }

  /** Replaces the rules; returns the ids of the pauses gone (their tasks may be dispatched again). */
  replace(pauses: readonly DispatchPause[]): string[] {
    const gone = [...this.byId.keys()].filter((id) => !pauses.some((pause) => pause.id === id));
    this.byId.clear();
    this.bySlot.clear();
    this.byKey.clear();
    this.selectors = [];
    for (const pause of pauses) {
      this.byId.set(pause.id, pause);
      const target = pause.target;
      if (target?.$case === "slot") this.bySlot.set(target.value, pause);
      else if (target?.$case === "concurrencyKey") this.byKey.set(target.value, pause);
      else if (target?.$case === "labelSelector") {
        try {
          this.selectors.push({ pause, selector: parseLabelSelector(target.value) });
        } catch {
          // Validated when stored: a selector that no longer parses matches nothing.
        }
      }
    }
    return gone;
  }

  /** The first pause that holds this task, if any. */
  match(entry: PendingEntry): DispatchPause | undefined {
    if (entry.slot) {
      const pause = this.bySlot.get(entry.slot);
      if (pause) return pause;
    }
    if (entry.concurrency && this.byKey.size > 0) {
      for (const { key } of entry.concurrency) {
        const pause = this.byKey.get(key);
        if (pause) return pause;
      }
    }
    for (const { pause, selector } of this.selectors) {
      if (matchesSelector(selector, entry.labels ?? {})) return pause;
    }
    return undefined;
  }
}

/** What a pause holds, for people: "slot nightly", "concurrency key tenant-a", "labels tier=batch". */
export function describeTarget(pause: DispatchPause): string {
  const target = pause.target;
  if (target?.$case === "slot") return `slot ${target.value}`;
  if (target?.$case === "concurrencyKey") return `concurrency key ${target.value}`;
  if (target?.$case === "labelSelector") return `labels ${target.value}`;
  return "nothing";
}
