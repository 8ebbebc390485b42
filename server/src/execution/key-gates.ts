import { afterStart, conforms, isFull, nextTokenMs, type Rate } from "../core/rate-limit.js";
import type { RateKeyRecord } from "../store/backend.js";

/** One key a task must pass at dispatch: a rate limit's bucket, and any retry-after pause on it. */
export interface GateKey {
  key: string;
  /**
   * A rate-limit key's rate; null for a rate limit that has none (neither unit set, and no server rate for
   * the key): it never has a token. Undefined for a concurrency key: only a retry-after pause holds it here.
   */
  rate?: Rate | null;
}

/** What holds a task at one of its keys, and until when (Infinity: until the config gives the key a rate). */
export interface GateBlock {
  key: string;
  kind: "paused" | "token" | "no-rate";
  untilMs: number;
}

/** A key's state: its bucket's theoretical arrival time, and the retry-after pause on it. */
export type KeyState = Omit<RateKeyRecord, "key">;

const FULL: KeyState = { tatMs: 0, pausedUntilMs: 0, pausedBy: "" };

/** Two states of one key merged as the store merges them: the later bucket time, the pause that ends later. */
export function laterState(a: KeyState, b: KeyState): KeyState {
  const pause = b.pausedUntilMs > a.pausedUntilMs ? b : a;
  return { tatMs: Math.max(a.tatMs, b.tatMs), pausedUntilMs: pause.pausedUntilMs, pausedBy: pause.pausedBy };
}

/**
 * The leader's token buckets (GCRA: one time per key) and retry-after pauses, by key. Only keys some start
 * or pause touched have a state; a key without one has a full bucket and no pause, so a task without rate
 * limits pays one map lookup per concurrency key, and nothing at all while no key is paused or limited.
 * Loaded from the store when this server takes the lead; every change is written in the commit that made it.
 */
export class KeyGates {
  private readonly states = new Map<string, KeyState>();

  get size(): number {
    return this.states.size;
  }

  state(key: string): KeyState | undefined {
    return this.states.get(key);
  }

  /** Sets a key's state (undefined: a full bucket and no pause). */
  set(key: string, state: KeyState | undefined): void {
    if (state) this.states.set(key, state);
    else this.states.delete(key);
  }

  /** Replaces every state with the store's. */
  load(records: readonly RateKeyRecord[]): void {
    this.states.clear();
    for (const { key, ...state } of records) this.states.set(key, state);
  }

  clear(): void {
    this.states.clear();
  }

  /** The first of `gates` that holds a start now: a pause on the key, or a bucket without a token. */
  blocked(gates: readonly GateKey[], nowMs: number): GateBlock | undefined {
    for (const { key, rate } of gates) {
      const state = this.states.get(key);
      if (state && state.pausedUntilMs > nowMs) return { key, kind: "paused", untilMs: state.pausedUntilMs };
      if (rate === null) return { key, kind: "no-rate", untilMs: Number.POSITIVE_INFINITY };
      if (rate && state && !conforms(state.tatMs, rate, nowMs)) {
        return { key, kind: "token", untilMs: nextTokenMs(state.tatMs, rate) };
      }
    }
    return undefined;
  }

  /** A start at `nowMs` takes a token of each of its rate-limit keys (`blocked` said it may). */
  take(gates: readonly GateKey[], nowMs: number): void {
    for (const { key, rate } of gates) {
      if (!rate) continue;
      const state = this.states.get(key) ?? FULL;
      this.states.set(key, { ...state, tatMs: afterStart(state.tatMs, rate, nowMs) });
    }
  }

  /** A retry-after pauses the key until `untilMs` (a pause that ends later stays). */
  pause(key: string, untilMs: number, byRunId: string): void {
    const state = this.states.get(key) ?? FULL;
    this.states.set(key, laterState(state, { ...FULL, pausedUntilMs: untilMs, pausedBy: byRunId }));
  }

  /**
   * How many of `gates`-holding tasks, first in line first, may start at `nowMs` on `key` (asked of each in
   * turn, as `DispatchIndex.release` does), and when the next one after them may. Nothing is taken: the tasks
   * let go take their tokens when they are dispatched.
   */
  releaser(key: string, nowMs: number): { take: (gates: readonly GateKey[]) => boolean; nextMs: () => number } {
    const state = this.states.get(key) ?? FULL;
    let tatMs = state.tatMs;
    let lastRate: Rate | undefined;
    const paused = state.pausedUntilMs > nowMs;
    return {
      take: (gates) => {
        if (paused) return false;
        const rate = gates.find((gate) => gate.key === key)?.rate;
        if (!rate) return rate === undefined;
        lastRate = rate;
        if (!conforms(tatMs, rate, nowMs)) return false;
        tatMs = afterStart(tatMs, rate, nowMs);
        return true;
      },
      nextMs: () => (paused ? state.pausedUntilMs : lastRate ? nextTokenMs(tatMs, lastRate) : nowMs),
    };
  }

  /** Forgets the keys that say nothing any more: a full bucket and no pause (`keep` says which are in use). */
  forgetIdle(nowMs: number, keep: (key: string) => boolean): number {
    let forgotten = 0;
    for (const [key, state] of this.states) {
      if (isFull(state.tatMs, nowMs) && state.pausedUntilMs <= nowMs && !keep(key)) {
        this.states.delete(key);
        forgotten++;
      }
    }
    return forgotten;
  }
}
