import { type RateLimit, TaskReason, type Timer, type Timers } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { effectiveRate, nextTokenMs, type RateLimits } from "../core/rate-limit.js";
import { keyPausedMessage, noTokenMessage } from "../core/wait-messages.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { RateKeyRecord } from "../store/backend.js";
import type { DispatchIndex, PendingEntry } from "./dispatch-index.js";
import { type GateBlock, type GateKey, KeyGates, type KeyState } from "./key-gates.js";
import type { RunnerTarget } from "./runner-target.js";

/** The index group of the tasks a key's bucket or a retry-after pause on it holds... */
export const rateGroup = (key: string): string => `rate\n${key}`;
/** ...and of those whose rate limit has no rate at all (let go only when a new leader reads the config). */
export const noRateGroup = (key: string): string => `rate-none\n${key}`;

/** Keys' states as they were before a batch changed them (undefined: no state), to undo it. */
export type GatesBefore = Map<string, KeyState | undefined>;

export interface RateHoldsDeps {
  index: DispatchIndex<RunnerTarget>;
  clock: Clock;
  timers: Timers;
  /** Tasks were let go: a dispatch pass should run. */
  schedule(): void;
  metrics?: ServerMetrics;
}

/**
 * Rate limits and retry-after pauses at dispatch. A task whose key has no token (or is paused) waits in the
 * key's group of the index, which costs nothing to a pass; one timer per key lets go, when its next token is
 * due, as many of them as there are tokens — so 100 000 tasks behind a 10/s key cost ten releases a second.
 * The tokens themselves are taken when a task is reserved, and written with its assign (Dispatcher).
 */
export class RateHolds {
  readonly gates = new KeyGates();
  private readonly releases = new Map<string, { timer: Timer; atMs: number }>();

  constructor(private readonly deps: RateHoldsDeps) {}

  /** The keys a task must pass: its rate limits (with the rate each holds it to), then its concurrency keys. */
  static gatesOf(
    rateLimits: readonly RateLimit[],
    concurrencyKeys: readonly string[],
    limits: RateLimits,
  ): GateKey[] | undefined {
    if (rateLimits.length === 0 && concurrencyKeys.length === 0) return undefined;
    const gates: GateKey[] = rateLimits.map((limit) => ({
      key: limit.key,
      rate: effectiveRate(limit, limits) ?? null,
    }));
    for (const key of concurrencyKeys) if (!gates.some((gate) => gate.key === key)) gates.push({ key });
    return gates;
  }

  /** Holds the entry if one of its keys does now (its group, a release armed); false when it may start. */
  holdIfBlocked(entry: PendingEntry, nowMs: number): boolean {
    const block = this.gates.size > 0 || hasRate(entry) ? this.gates.blocked(entry.gates!, nowMs) : undefined;
    if (!block) return false;
    this.hold(entry, block, nowMs);
    return true;
  }

  /** Holds a ready entry in the group of the key that blocks it, and arms that key's release. */
  hold(entry: PendingEntry, block: GateBlock, nowMs: number): void {
    const noRate = block.kind === "no-rate";
    if (this.deps.index.hold(entry.taskId, noRate ? noRateGroup(block.key) : rateGroup(block.key), nowMs)) {
      this.deps.metrics?.dispatchHolds.inc({ kind: block.kind === "paused" ? "retry_after" : "rate_limit" });
    }
    if (!noRate) this.armRelease(block.key, block.untilMs);
  }

  /** The entry starts now: it takes a token of each rate-limit key (the states before go into `before`). */
  take(entry: PendingEntry, nowMs: number, before: GatesBefore): void {
    for (const { key } of entry.gates!) this.remember(key, before);
    this.gates.take(entry.gates!, nowMs);
  }

  /** Lays a batch's retry-after pauses over the keys, as if committed (undone with `restore`). */
  layOver(pauses: readonly { key: string; untilMs: number; byRunId: string }[], before: GatesBefore): void {
    for (const { key, untilMs, byRunId } of pauses) {
      this.remember(key, before);
      this.gates.pause(key, untilMs, byRunId);
    }
  }

  /** The keys as they were before the batch (its commit failed). */
  restore(before: GatesBefore): void {
    for (const [key, state] of before) this.gates.set(key, state);
  }

  remember(key: string, before: GatesBefore): void {
    if (!before.has(key)) before.set(key, this.gates.state(key));
  }

  /** The store's states (read when this server takes the lead). */
  load(records: readonly RateKeyRecord[]): void {
    this.gates.load(records);
  }

  /** Another server dispatches now. */
  clear(): void {
    this.gates.clear();
    for (const { timer } of this.releases.values()) timer.cancel();
    this.releases.clear();
  }

  /** Forgets keys with a full bucket and no pause and no task held on them (their rows go from the store too). */
  forgetIdle(nowMs: number): number {
    return this.gates.forgetIdle(nowMs, (key) => this.releases.has(key));
  }

  /** Why a task held in a rate group waits (undefined: not one of these groups). */
  verdict(entry: PendingEntry, group: string, nowMs: number): { reason: string; message: string } | undefined {
    if (group.startsWith("rate-none\n")) {
      const key = group.slice("rate-none\n".length);
      return {
        reason: TaskReason.RATE_LIMITED,
        message:
          `rate limit ${key} has no rate: neither per_second nor per_minute is set, and the server has none ` +
          "for it (rateLimits)",
      };
    }
    if (!group.startsWith("rate\n")) return undefined;
    const key = group.slice("rate\n".length);
    const state = this.gates.state(key);
    if (state && state.pausedUntilMs > nowMs) {
      return { reason: TaskReason.RATE_LIMITED, message: keyPausedMessage(key, state.pausedUntilMs, state.pausedBy) };
    }
    const rate = entry.gates?.find((gate) => gate.key === key)?.rate;
    if (!rate) return undefined; // a concurrency key whose pause just ended: let go at once
    // Due now: it goes to the first task in line, at this very instant.
    const due = Math.max(nowMs, nextTokenMs(state?.tatMs ?? 0, rate));
    return { reason: TaskReason.RATE_LIMITED, message: noTokenMessage(key, rate.label, due) };
  }

  /** Arms the key's release for `atMs`, unless one is due sooner. */
  private armRelease(key: string, atMs: number): void {
    if (!Number.isFinite(atMs)) return;
    const armed = this.releases.get(key);
    if (armed && armed.atMs <= atMs) return;
    armed?.timer.cancel();
    const { clock, timers } = this.deps;
    // Whole ms, never early: a release that finds no token would only arm itself again.
    const delayMs = Math.max(0, Math.ceil(atMs - clock.now()));
    this.releases.set(key, { atMs, timer: timers.after(delayMs, () => this.release(key)) });
  }

  /** The key's next token is due (or its pause ended): as many of its tasks as may start now are let go. */
  private release(key: string): void {
    this.releases.delete(key);
    const nowMs = this.deps.clock.now();
    const { take, nextMs } = this.gates.releaser(key, nowMs);
    const group = rateGroup(key);
    const released = this.deps.index.release(group, nowMs, (entry) => take(entry.gates ?? []));
    if (this.deps.index.heldCount(group) > 0) this.armRelease(key, Math.max(nextMs(), nowMs + 1));
    if (released > 0) this.deps.schedule();
  }
}

const hasRate = (entry: PendingEntry): boolean => entry.gates!.some((gate) => gate.rate !== undefined);
