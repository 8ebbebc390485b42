import { clampDelay, type Timer, type Timers } from "@supervisor/sdk";
import type { Clock } from "../../server/src/core/clock.js";
import { SortedList } from "../../server/src/execution/sorted-list.js";

/**
 * A clock and its timers, moved only by the test: code that takes `Clock` and `Timers` (the
 * engine, the sweeper, the bookmark ticker) runs a 15 s lease or a 30-day delay in milliseconds
 * of real time, and "not before" is checked to the millisecond instead of guessed with sleeps.
 *
 * Two ways to move time:
 * - `advance`/`advanceTo` — time passes: every timer due fires at its due time, in time order
 *   (ties in the order they were armed), and a timer armed by a firing timer fires too if it falls
 *   within the window. `now()` inside a callback is that timer's due time.
 * - `stall`/`stallTo` — the process was stopped (SIGSTOP, a long synchronous stretch): time jumps
 *   first, then each timer that came due fires once, late, in due order, with `now()` already at
 *   the end — as Node fires overdue timers after a stall, an interval included (once, not once
 *   per missed tick).
 *
 * Each has an `…Async` variant for code whose work continues in promises and `setImmediate` (the
 * group commit flushes on `setImmediate`; the engine answers after the commit). It settles —
 * awaits SETTLE_TURNS real macrotask turns — before the first firing, after each firing and at
 * the end. A turn is one `setImmediate`: every immediate queued before it has run, and the
 * promise work it started with it. No wall-clock time is read or waited for, so a run is
 * deterministic for code whose only asynchrony is promises and immediates (SQLite through
 * better-sqlite3 is synchronous); a chain longer than the turns is finished by `settle()`.
 */
export class FakeClock implements Clock, Timers {
  private nowMs: number;
  private armed = 0;
  /** Firings in a row without time moving: a guard against a timer re-arming itself with no delay. */
  private firingsAtOneInstant = 0;
  private readonly due = new SortedList<PendingTimer>(
    (a, b) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order),
  );
  /** How many timer callbacks have run, for tests that check nothing spins. */
  fired = 0;

  /** Starts at `startMs` (a fixed instant by default, so runs repeat exactly). */
  constructor(startMs = Date.UTC(2030, 0, 1)) {
    this.nowMs = startMs;
  }

  /** Bound, so it can be handed on as a function (`new IdGenerator(clock.now)`). */
  readonly now = (): number => this.nowMs;

  after(delayMs: number, fn: () => void): Timer {
    const timer: PendingTimer = { dueMs: this.nowMs + clampDelay(delayMs), order: this.armed++, fn };
    this.due.insert(timer);
    return { cancel: () => void this.due.remove(timer) };
  }

  /** Like `systemTimers().every`: the next tick is armed before `fn` runs, one interval after this one. */
  every(intervalMs: number, fn: () => void): Timer {
    const step = Math.max(1, clampDelay(intervalMs));
    let current: Timer;
    let cancelled = false;
    const tick = () => {
      if (cancelled) return;
      current = this.after(step, tick);
      fn();
    };
    current = this.after(step, tick);
    return {
      cancel() {
        cancelled = true;
        current.cancel();
      },
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  get pending(): number {
    return this.due.size;
  }

  /** When the earliest pending timer is due (undefined when none is). */
  get nextDueMs(): number | undefined {
    return this.due.first?.dueMs;
  }

  /** Time passes by `ms`: the timers due meanwhile fire at their due times. */
  advance(ms: number): void {
    this.advanceTo(this.nowMs + ms);
  }

  advanceTo(timeMs: number): void {
    this.check(timeMs);
    for (let next = this.firstDue(timeMs); next; next = this.firstDue(timeMs)) this.fire(next, next.dueMs);
    this.nowMs = timeMs;
  }

  /** The process stalls for `ms`: time jumps, then the timers that came due fire, late. */
  stall(ms: number): void {
    this.stallTo(this.nowMs + ms);
  }

  stallTo(timeMs: number): void {
    this.check(timeMs);
    this.nowMs = timeMs;
    for (const next of this.dueBy(timeMs)) this.fire(next, timeMs);
  }

  async advanceAsync(ms: number): Promise<void> {
    await this.advanceToAsync(this.nowMs + ms);
  }

  async advanceToAsync(timeMs: number): Promise<void> {
    this.check(timeMs);
    for (;;) {
      await this.settle();
      const next = this.firstDue(timeMs);
      if (next) {
        this.fire(next, next.dueMs);
        continue;
      }
      if (this.nowMs === timeMs) return;
      this.nowMs = timeMs; // then settle, and fire what that armed for this very instant
    }
  }

  async stallAsync(ms: number): Promise<void> {
    await this.stallToAsync(this.nowMs + ms);
  }

  async stallToAsync(timeMs: number): Promise<void> {
    this.check(timeMs);
    await this.settle();
    this.nowMs = timeMs;
    for (const next of this.dueBy(timeMs)) {
      this.fire(next, timeMs);
      await this.settle();
    }
    // Anything armed meanwhile for this instant (a zero delay) fires in time, not late.
    await this.advanceToAsync(timeMs);
  }

  /** Lets promise and `setImmediate` work run: `turns` real macrotask turns; the fake time stays. */
  async settle(turns = SETTLE_TURNS): Promise<void> {
    for (let turn = 0; turn < turns; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private check(timeMs: number): void {
    if (!Number.isFinite(timeMs)) throw new Error(`cannot move the clock to ${timeMs}`);
    if (timeMs < this.nowMs) throw new Error(`the clock never goes back (now ${this.nowMs}, asked for ${timeMs})`);
  }

  private firstDue(timeMs: number): PendingTimer | undefined {
    const first = this.due.first;
    return first && first.dueMs <= timeMs ? first : undefined;
  }

  /** The timers due by `timeMs` as they stand now (a timer armed while they fire waits for the next move). */
  private dueBy(timeMs: number): PendingTimer[] {
    const due: PendingTimer[] = [];
    for (const timer of this.due) {
      if (timer.dueMs > timeMs) break;
      due.push(timer);
    }
    return due;
  }

  private fire(timer: PendingTimer, atMs: number): void {
    if (!this.due.remove(timer)) return; // cancelled by an earlier callback of the same move
    this.firingsAtOneInstant = atMs === this.nowMs ? this.firingsAtOneInstant + 1 : 0;
    if (this.firingsAtOneInstant > MAX_FIRINGS_AT_ONE_INSTANT) {
      throw new Error(
        `more than ${MAX_FIRINGS_AT_ONE_INSTANT} timers fired at ${atMs}: something re-arms with no delay`,
      );
    }
    this.nowMs = atMs;
    this.fired++;
    timer.fn();
  }
}

interface PendingTimer {
  dueMs: number;
  /** Arming order: timers due at the same instant fire in the order they were armed. */
  order: number;
  fn: () => void;
}

/** Macrotask turns per settle: more than the longest chain of immediates the engine starts from one event. */
export const SETTLE_TURNS = 20;

/** A timer re-arming itself with no delay would keep a move from ever ending: fail instead. */
const MAX_FIRINGS_AT_ONE_INSTANT = 10_000;
