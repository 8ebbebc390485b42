import type { RunnerCandidate, TaskRequirements } from "../core/routing.js";
import { meetsRequirements, type RunnerRequirements } from "../core/runner-fit.js";
import { canonicalSelector } from "../core/selector.js";
import { FairQueue, type FairShare } from "./fair-queue.js";
import type { GateKey } from "./key-gates.js";
import { SortedList } from "./sorted-list.js";

/** A task waiting to be dispatched, with what routing needs. */
export interface PendingEntry extends TaskRequirements {
  taskId: string;
  priority: number;
  /** Not before this time (ms): not_before or the end of a backoff. */
  readyAtMs: number;
  slot: string;
  /** The reason its stored status gives now (kept true by the engine while it waits). */
  reason?: string;
  /** Its stored status message (WaitingReasons rewrites it when its class's verdict says otherwise). */
  message?: string;
  /** Only this runner may run it (TaskSpec.pinned_runner_id); undefined for any matching runner. */
  pinnedRunnerId?: string;
  /** A fan-out child's parent, which its assign changes too (read with it). */
  parentId?: string;
  /** Its concurrency keys with the limit each holds it to; undefined when it has none (the fast path). */
  concurrency?: readonly { key: string; limit: number }[];
  /** The task's labels (dispatch pauses by label selector match them). */
  labels?: Readonly<Record<string, string>>;
  /** Its rate-limit and concurrency keys, as RateHolds checks them; undefined when it has none (the fast path). */
  gates?: readonly GateKey[];
  /** Its fairness key and the weight it is given; undefined when it has none (the fast path). */
  fairness?: FairShare;
}

/** Dispatch order: priority desc, then ready time, then id (submit order). */
export const dispatchesBefore = (a: PendingEntry, b: PendingEntry): boolean =>
  a.priority !== b.priority
    ? a.priority > b.priority
    : a.readyAtMs !== b.readyAtMs
      ? a.readyAtMs < b.readyAtMs
      : a.taskId < b.taskId;

const readyBefore = (a: PendingEntry, b: PendingEntry): boolean =>
  a.readyAtMs !== b.readyAtMs ? a.readyAtMs < b.readyAtMs : a.taskId < b.taskId;

/** Tasks with the same kind and selector: one runner match check serves them all. */
export class RequirementClass<R extends RunnerCandidate> {
  /** Ready to dispatch: in dispatch order, taking turns across fairness keys (FairQueue). */
  readonly ready = new FairQueue<PendingEntry>(dispatchesBefore);
  /**
   * Ready entries whose stored reason nobody has compared with this class's
   * verdict yet, in the order they joined (WaitingReasons takes them out), so
   * keeping reasons true costs per arrival, not per waiting task per second.
   */
  readonly unchecked = new Map<string, { entry: PendingEntry; sinceMs: number }>();
  /** The waiting reason and message last decided for the whole class (WaitingReasons' bookkeeping). */
  verdict: string | undefined;
  /** Runners whose labels and kinds fit (capacity aside). */
  readonly runners = new Set<R>();
  /** How many of `runners` have room now. */
  freeRunners = 0;
  /** Entries of this class, ready or not. */
  members = 0;
  /** Kind, selector and pin: what a runner must meet (core/runner-fit.ts, as ExplainTask compares). */
  readonly fit: RunnerRequirements;

  constructor(
    readonly key: string,
    readonly requirements: TaskRequirements,
    /** Tasks pinned to this runner (a class of their own): no other runner fits. */
    readonly pinnedRunnerId?: string,
  ) {
    this.fit = { kind: requirements.kind, selector: requirements.selector, pinnedRunnerId };
  }

  fits(runner: RunnerCandidate): boolean {
    return meetsRequirements(runner, this.fit);
  }
}

interface Tracked<R extends RunnerCandidate> {
  entry: PendingEntry;
  cls: RequirementClass<R>;
  where: "waiting" | "ready" | "slot" | "held";
  /** While held: the group (a concurrency key or a dispatch pause) it waits on. */
  group?: string;
  /**
   * The group it was held in when it was upserted again (a committed change of the task re-tracks it), until a
   * release lets it go: holding it there again is the same wait, not a new one (`hold` says which).
   */
  heldBefore?: string;
}

/** An entry held back by a concurrency key at its limit or a dispatch pause, for WaitingReasons. */
export interface HeldEntry {
  entry: PendingEntry;
  group: string;
  sinceMs: number;
}

interface RunnerState<R extends RunnerCandidate> {
  runner: R;
  classes: Set<RequirementClass<R>>;
  free: boolean;
}

const hasRoom = (runner: RunnerCandidate) => runner.acceptsWork && runner.running < runner.capacity;

/** Why a pending task is not dispatched yet, as the index sees it. */
export type WaitingFor = "not-ready" | "no-runner" | "runners-full" | "slot" | "held" | "unknown";

/**
 * Pending work indexed by what can run it. Tasks are grouped by requirement
 * class (kind + selector); each class knows which runners fit it and how many
 * of those have room. A dispatch pass then looks only at classes with a free
 * runner, so thousands of tasks nobody can run cost nothing per pass (they
 * used to cost runners × pending on every submit). Tasks not ready yet (backoff,
 * not_before) wait in one list by ready time and join their class when due.
 */
export class DispatchIndex<R extends RunnerCandidate> {
  private readonly classes = new Map<string, RequirementClass<R>>();
  /** The classes any runner may fit: a runner that connects is compared with these... */
  private readonly unpinned = new Set<RequirementClass<R>>();
  /** ...and with the classes pinned to it, so pinned work costs nothing to other runners. */
  private readonly pinnedTo = new Map<string, Set<RequirementClass<R>>>();
  private readonly tasks = new Map<string, Tracked<R>>();
  private readonly waiting = new SortedList<PendingEntry>(readyBefore);
  private readonly runners = new Map<string, RunnerState<R>>();
  /** Classes with at least one free runner: the only ones a pass looks at. */
  private readonly open = new Set<RequirementClass<R>>();
  /** How many runners have room. */
  private freeRunners = 0;
  /** Entries held back while their slot's previous owner is still stopping. */
  private readonly slotHeld = new Map<string, PendingEntry[]>();
  /** Tracked tasks by their stored reason, kept as they come and go (a metrics scrape reads it as is). */
  readonly pendingByReason = new Map<string, number>();
  /**
   * Entries held back by a group (a concurrency key at its limit, a dispatch pause), in dispatch order: they
   * cost nothing to a pass until the group lets them go.
   */
  private readonly groups = new Map<string, SortedList<PendingEntry>>();
  /** Held entries whose stored reason nobody has compared yet (WaitingReasons takes them out), in holding order. */
  readonly heldUnchecked = new Map<string, HeldEntry>();

  /** Grows whenever a runner is added, changed or removed: what fits a class (and comes closest) may differ. */
  runnersVersion = 0;

  get size(): number {
    return this.tasks.size;
  }

  has(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /** The entry of a tracked task (the object upserted). */
  entry(taskId: string): PendingEntry | undefined {
    return this.tasks.get(taskId)?.entry;
  }

  /** The runners some tracked task is pinned to (each has a class of its own). */
  pinnedRunnerIds(): string[] {
    return [...this.pinnedTo.keys()];
  }

  /** The tracked tasks pinned to `runnerId` (a scan: for the rare time that runner is gone for good). */
  pinnedTasks(runnerId: string): string[] {
    if (!this.pinnedTo.has(runnerId)) return [];
    return [...this.tasks.values()].filter((t) => t.entry.pinnedRunnerId === runnerId).map((t) => t.entry.taskId);
  }

  /** Whether any runner has room: without one, nothing can be dispatched. */
  get anyRoom(): boolean {
    return this.freeRunners > 0;
  }

  // ---- tasks ----

  /** Adds (or replaces) a pending task; it is ready at once if `readyAtMs <= nowMs`. */
  upsert(entry: PendingEntry, nowMs: number): void {
    const cls = this.classFor(entry);
    // Counted before the old entry goes, so a class is not dropped and rebuilt under its only task.
    cls.members++;
    const old = this.tasks.get(entry.taskId);
    const heldBefore = old?.where === "held" ? old.group : old?.heldBefore;
    this.remove(entry.taskId);
    const tracked: Tracked<R> = { entry, cls, where: "waiting", heldBefore };
    this.tasks.set(entry.taskId, tracked);
    this.countReason(entry.reason, 1);
    if (entry.readyAtMs <= nowMs) this.makeReady(tracked, nowMs);
    else this.waiting.insert(entry);
  }

  /** Forgets a task: it is no longer pending (or no longer here to dispatch). */
  remove(taskId: string): void {
    this.forget(taskId, false);
  }

  /**
   * Forgets a task because it is being dispatched: in a class that takes turns across fairness keys, its key's
   * turn is spent. (Should the assign's commit fail, the task comes back with the turn spent all the same.)
   */
  take(taskId: string): void {
    this.forget(taskId, true);
  }

  private forget(taskId: string, dispatched: boolean): void {
    const tracked = this.tasks.get(taskId);
    if (!tracked) return;
    this.tasks.delete(taskId);
    const { entry, cls } = tracked;
    this.countReason(entry.reason, -1);
    if (tracked.where === "waiting") this.waiting.remove(entry);
    else if (tracked.where === "ready") this.leaveReady(tracked, dispatched);
    else if (tracked.where === "held") this.leaveGroup(tracked);
    else {
      const held = this.slotHeld.get(entry.slot) ?? [];
      const rest = held.filter((other) => other !== entry);
      if (rest.length > 0) this.slotHeld.set(entry.slot, rest);
      else this.slotHeld.delete(entry.slot);
    }
    if (--cls.members === 0) this.dropClass(cls);
  }

  /** Forgets every task (runners stay): another server dispatches them now. */
  clearTasks(): void {
    for (const taskId of [...this.tasks.keys()]) this.remove(taskId);
  }

  /** Moves tasks whose time has come into their classes. Returns the next ready time among the rest (or Infinity). */
  promoteDue(nowMs: number): number {
    for (let next = this.waiting.first; next && next.readyAtMs <= nowMs; next = this.waiting.first) {
      this.waiting.shift();
      this.makeReady(this.tasks.get(next.taskId)!, nowMs);
    }
    return this.waiting.first?.readyAtMs ?? Number.POSITIVE_INFINITY;
  }

  /** Holds a ready task back until `releaseSlot(entry.slot)`: its slot's old owner is still stopping. */
  holdForSlot(taskId: string): void {
    const tracked = this.tasks.get(taskId);
    if (tracked?.where !== "ready") return;
    this.leaveReady(tracked);
    tracked.where = "slot";
    const held = this.slotHeld.get(tracked.entry.slot);
    if (held) held.push(tracked.entry);
    else this.slotHeld.set(tracked.entry.slot, [tracked.entry]);
  }

  /**
   * Holds a ready task back in `group` until `release(group)` lets it go. Returns whether this is a new wait:
   * false when it was held there already before a change of the task re-tracked it.
   */
  hold(taskId: string, group: string, nowMs: number): boolean {
    const tracked = this.tasks.get(taskId);
    if (tracked?.where !== "ready") return false;
    this.leaveReady(tracked);
    tracked.where = "held";
    tracked.group = group;
    let held = this.groups.get(group);
    if (!held) {
      held = new SortedList<PendingEntry>(dispatchesBefore);
      this.groups.set(group, held);
    }
    held.insert(tracked.entry);
    this.heldUnchecked.set(taskId, { entry: tracked.entry, group, sinceMs: nowMs });
    const again = tracked.heldBefore === group;
    tracked.heldBefore = undefined;
    return !again;
  }

  /**
   * Makes the held entries of `group` ready again, first in dispatch order first, while `take` says yes
   * (it is asked of the first entry left, and says how many were taken so far). Returns how many.
   */
  release(group: string, nowMs: number, take: (entry: PendingEntry, taken: number) => boolean = () => true): number {
    const held = this.groups.get(group);
    let taken = 0;
    for (let first = held?.first; first && take(first, taken); first = held!.first) {
      const tracked = this.tasks.get(first.taskId)!;
      this.leaveGroup(tracked);
      tracked.heldBefore = undefined;
      this.makeReady(tracked, nowMs);
      taken++;
    }
    return taken;
  }

  /** How many entries `group` holds. */
  heldCount(group: string): number {
    return this.groups.get(group)?.size ?? 0;
  }

  /** The group a task is held in, if it is. */
  heldIn(taskId: string): string | undefined {
    return this.tasks.get(taskId)?.group;
  }

  releaseSlot(slot: string, nowMs: number): void {
    const held = this.slotHeld.get(slot);
    if (!held) return;
    this.slotHeld.delete(slot);
    for (const entry of held) this.makeReady(this.tasks.get(entry.taskId)!, nowMs);
  }

  /**
   * The task to dispatch next — the first in dispatch order among classes
   * with a free runner — and the free runners that fit it. Undefined when
   * nothing can be dispatched now. Each class's first is its fair turn (its
   * `ready` queue); across classes the order is priority, then age, as without
   * fairness keys: fairness rotates among tasks that wait for the same runners.
   */
  next(): { entry: PendingEntry; runners: R[] } | undefined {
    let best: RequirementClass<R> | undefined;
    for (const cls of this.open) {
      const head = cls.ready.first;
      if (head && (!best || dispatchesBefore(head, best.ready.first!))) best = cls;
    }
    if (!best) return undefined;
    const runners: R[] = [];
    for (const runner of best.runners) if (this.runners.get(runner.id)!.free) runners.push(runner);
    return { entry: best.ready.first!, runners };
  }

  /** Classes with ready tasks and no fitting runner with room: their tasks wait for a runner. */
  *withoutRoom(): Generator<RequirementClass<R>> {
    for (const cls of this.classes.values()) if (cls.freeRunners === 0 && cls.ready.size > 0) yield cls;
  }

  /** What a pending task waits for, as far as routing knows. */
  waitingFor(taskId: string): WaitingFor {
    const tracked = this.tasks.get(taskId);
    if (!tracked) return "unknown";
    if (tracked.where === "waiting") return "not-ready";
    if (tracked.where === "slot") return "slot";
    if (tracked.where === "held") return "held";
    if (tracked.cls.runners.size === 0) return "no-runner";
    return tracked.cls.freeRunners === 0 ? "runners-full" : "unknown";
  }

  // ---- runners ----

  hasRunner(runnerId: string): boolean {
    return this.runners.has(runnerId);
  }

  /** Told of every runner upserted (fan-out: a runner that connects within a parent's window gets its child). */
  runnerSeen: ((runner: R) => void) | undefined;

  /** Every runner known, with room or not. */
  *knownRunners(): Generator<R> {
    for (const state of this.runners.values()) yield state.runner;
  }

  /** A runner connected, or its labels, kinds or capacity changed. */
  upsertRunner(runner: R): void {
    const existing = this.runners.get(runner.id);
    if (existing) this.removeRunner(runner.id);
    this.runnersVersion++;
    const state: RunnerState<R> = { runner, classes: new Set(), free: hasRoom(runner) };
    if (state.free) this.freeRunners++;
    this.runners.set(runner.id, state);
    for (const cls of this.unpinned) if (cls.fits(runner)) this.link(state, cls);
    for (const cls of this.pinnedTo.get(runner.id) ?? []) if (cls.fits(runner)) this.link(state, cls);
    this.runnerSeen?.(runner);
  }

  removeRunner(runnerId: string): void {
    const state = this.runners.get(runnerId);
    if (!state) return;
    this.runnersVersion++;
    this.runners.delete(runnerId);
    if (state.free) this.freeRunners--;
    for (const cls of state.classes) {
      cls.runners.delete(state.runner);
      if (state.free) this.countFree(cls, -1);
    }
  }

  /** A runner's room may have changed (a run assigned or ended, drain, connect, disconnect). */
  roomChanged(runner: R): void {
    const state = this.runners.get(runner.id);
    if (!state) return;
    const free = hasRoom(runner);
    if (free === state.free) return;
    state.free = free;
    this.freeRunners += free ? 1 : -1;
    for (const cls of state.classes) this.countFree(cls, free ? 1 : -1);
    // A runner is upserted before it is welcomed; it takes work (and a fan-out child) once it has room.
    if (free) this.runnerSeen?.(runner);
  }

  // ---- internals ----

  private countReason(reason: string | undefined, delta: number): void {
    const key = reason ?? "";
    const count = (this.pendingByReason.get(key) ?? 0) + delta;
    if (count > 0) this.pendingByReason.set(key, count);
    else this.pendingByReason.delete(key);
  }

  private makeReady(tracked: Tracked<R>, nowMs: number): void {
    tracked.where = "ready";
    tracked.cls.ready.insert(tracked.entry);
    tracked.cls.unchecked.set(tracked.entry.taskId, { entry: tracked.entry, sinceMs: nowMs });
  }

  private leaveGroup(tracked: Tracked<R>): void {
    const group = tracked.group!;
    const held = this.groups.get(group);
    held?.remove(tracked.entry);
    if (held?.size === 0) this.groups.delete(group);
    this.heldUnchecked.delete(tracked.entry.taskId);
    tracked.group = undefined;
  }

  private leaveReady(tracked: Tracked<R>, dispatched = false): void {
    if (dispatched) tracked.cls.ready.take(tracked.entry);
    else tracked.cls.ready.remove(tracked.entry);
    tracked.cls.unchecked.delete(tracked.entry.taskId);
  }

  private classFor(entry: PendingEntry): RequirementClass<R> {
    const pin = entry.pinnedRunnerId;
    const key = `${entry.kind}\n${canonicalSelector(entry.selector)}${pin ? `\n@${pin}` : ""}`;
    let cls = this.classes.get(key);
    if (cls) return cls;
    cls = new RequirementClass<R>(key, { kind: entry.kind, selector: entry.selector }, pin);
    this.classes.set(key, cls);
    if (pin === undefined) {
      this.unpinned.add(cls);
      for (const state of this.runners.values()) if (cls.fits(state.runner)) this.link(state, cls);
      return cls;
    }
    const pinned = this.pinnedTo.get(pin);
    if (pinned) pinned.add(cls);
    else this.pinnedTo.set(pin, new Set([cls]));
    const state = this.runners.get(pin);
    if (state && cls.fits(state.runner)) this.link(state, cls);
    return cls;
  }

  private link(state: RunnerState<R>, cls: RequirementClass<R>): void {
    state.classes.add(cls);
    cls.runners.add(state.runner);
    if (state.free) this.countFree(cls, 1);
  }

  private countFree(cls: RequirementClass<R>, delta: number): void {
    cls.freeRunners += delta;
    if (cls.freeRunners > 0) this.open.add(cls);
    else this.open.delete(cls);
  }

  private dropClass(cls: RequirementClass<R>): void {
    this.classes.delete(cls.key);
    this.open.delete(cls);
    const pin = cls.pinnedRunnerId;
    if (pin === undefined) this.unpinned.delete(cls);
    else {
      const pinned = this.pinnedTo.get(pin);
      pinned?.delete(cls);
      if (pinned?.size === 0) this.pinnedTo.delete(pin);
    }
    for (const runner of cls.runners) this.runners.get(runner.id)?.classes.delete(cls);
  }
}
