import type { DispatchPause } from "@supervisor/sdk";
import { type LabelSelector, matchesSelector, parseLabelSelector } from "../core/selector.js";
import type { PendingEntry } from "./dispatch-index.js";

/** What a pause is matched on: a task's slot, concurrency keys and labels (a PendingEntry, or a task's spec). */
export interface PauseSubject {
  slot: string;
  concurrency?: readonly { key: string }[];
  labels?: Readonly<Record<string, string>>;
}

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

  /** Every pause that holds this task, the one `match` gives first (ExplainTask lists them all). */
  matchAll(entry: PauseSubject): DispatchPause[] {
    const held: DispatchPause[] = [];
    const bySlot = entry.slot ? this.bySlot.get(entry.slot) : undefined;
    if (bySlot) held.push(bySlot);
    for (const { key } of entry.concurrency ?? []) {
      const byKey = this.byKey.get(key);
      if (byKey && !held.includes(byKey)) held.push(byKey);
    }
    for (const { pause, selector } of this.selectors) {
      if (matchesSelector(selector, entry.labels ?? {})) held.push(pause);
    }
    return held;
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
