import { SortedList } from "./sorted-list.js";

/** A task's fairness key and its weight (1..1000: the server's weight for the key, or the task's, 0 being 1). */
export interface FairShare {
  key: string;
  weight: number;
}

/** What the queue reads of an entry; an entry's fields do not change while it is queued. */
export interface FairEntry {
  taskId: string;
  priority: number;
  /** Undefined: the task has no key; such tasks share the key "" with weight 1. */
  fairness?: FairShare;
}

/** Virtual times are sums of 1/weight: a start this close to the virtual time counts as reached. */
const EPSILON = 1e-9;

/** The tasks of one key at one priority, and where the key stands in the rotation. */
class KeyTurns<T extends FairEntry> {
  readonly tasks: SortedList<T>;
  /** Virtual time at which the key's next turn starts... */
  start = 0;
  /** ...and ends: start + 1 / weight. */
  finish = 0;
  /** The weight of the task at its head (tasks of one key normally share one); 0 until it has a head. */
  weight = 0;
  eligible = false;

  constructor(
    readonly key: string,
    before: (a: T, b: T) => boolean,
  ) {
    this.tasks = new SortedList(before);
  }

  get head(): T {
    return this.tasks.first!;
  }

  /** The head changed: its weight prices the key's next turn. Returns how much the key's weight grew. */
  reprice(): number {
    const weight = this.head.fairness?.weight ?? 1;
    const grown = weight - this.weight;
    this.weight = weight;
    this.finish = this.start + 1 / weight;
    return grown;
  }
}

/**
 * The keys waiting at one priority, taking turns by WF²Q+ (worst-case fair weighted fair queueing, Bennett &
 * Zhang 1997) with one dispatch as the unit of work. Each key has a start and a finish in virtual time, which
 * runs at 1 / (sum of the waiting keys' weights) per dispatch, as if every waiting key were served at once in
 * proportion to its weight. The next turn goes to the key with the earliest finish among those whose start the
 * virtual time has reached; the turn moves its start to its finish. So after any n dispatches a key that has
 * kept waiting has had n × weight / total turns, give or take one — plain stride scheduling (earliest start or
 * earliest finish alone) lets a heavy key fall behind, or run ahead, by about as many turns as there are keys.
 *
 * A key that starts waiting starts at the virtual time, or at the start its last turn left it if that is
 * later: it gets its share from then on, with no burst of catch-up turns for the time it was not waiting, and
 * cannot win turns by leaving and coming back. Every step costs O(log keys).
 */
class PriorityLevel<T extends FairEntry> {
  private readonly keys = new Map<string, KeyTurns<T>>();
  /** Keys whose start the virtual time has reached, by finish (then by their heads' order)... */
  private readonly eligible: SortedList<KeyTurns<T>>;
  /** ...and the others, by start. */
  private readonly early = new SortedList<KeyTurns<T>>((a, b) =>
    a.start !== b.start ? a.start < b.start : a.key < b.key,
  );
  /** Keys that stopped waiting with a start ahead of the virtual time: they take it up again if they return. */
  private readonly left = new Map<string, number>();
  private readonly leftByStart = new SortedList<{ key: string; start: number }>((a, b) =>
    a.start !== b.start ? a.start < b.start : a.key < b.key,
  );
  private virtualTime = 0;
  private weightSum = 0;
  size = 0;

  constructor(
    readonly priority: number,
    private readonly before: (a: T, b: T) => boolean,
  ) {
    this.eligible = new SortedList<KeyTurns<T>>((a, b) =>
      a.finish !== b.finish ? a.finish < b.finish : before(a.head, b.head),
    );
  }

  get first(): T | undefined {
    return this.eligible.first?.head;
  }

  insert(entry: T): void {
    const name = entry.fairness?.key ?? "";
    const key = this.keys.get(name);
    this.size++;
    if (!key) {
      this.join(name, entry);
      return;
    }
    if (!this.before(entry, key.head)) {
      key.tasks.insert(entry);
      return;
    }
    this.detach(key);
    key.tasks.insert(entry);
    this.weightSum += key.reprice();
    this.attach(key);
  }

  /** Removes `entry`; `served`: it is being dispatched, so its key's turn is spent. False if it is not here. */
  remove(entry: T, served: boolean): boolean {
    const key = this.keys.get(entry.fairness?.key ?? "");
    if (!key) return false;
    if (key.head.taskId !== entry.taskId) {
      const removed = key.tasks.remove(entry);
      if (removed) this.size--;
      return removed;
    }
    this.detach(key);
    key.tasks.remove(entry);
    this.size--;
    if (served) {
      this.virtualTime += 1 / this.weightSum;
      key.start = key.finish;
    }
    if (key.tasks.size > 0) {
      this.weightSum += key.reprice();
      this.attach(key);
    } else this.leave(key);
    this.settle();
    return true;
  }

  *[Symbol.iterator](): Generator<T> {
    for (const key of this.keys.values()) yield* key.tasks;
  }

  private join(name: string, entry: T): void {
    const key = new KeyTurns<T>(name, this.before);
    const left = this.left.get(name);
    if (left !== undefined) {
      this.left.delete(name);
      this.leftByStart.remove({ key: name, start: left });
    }
    key.start = Math.max(this.virtualTime, left ?? 0);
    key.tasks.insert(entry);
    this.weightSum += key.reprice();
    this.keys.set(name, key);
    this.attach(key);
    this.settle();
  }

  private leave(key: KeyTurns<T>): void {
    this.keys.delete(key.key);
    this.weightSum -= key.weight;
    if (key.start > this.virtualTime + EPSILON) {
      this.left.set(key.key, key.start);
      this.leftByStart.insert({ key: key.key, start: key.start });
    }
  }

  private attach(key: KeyTurns<T>): void {
    key.eligible = key.start <= this.virtualTime + EPSILON;
    (key.eligible ? this.eligible : this.early).insert(key);
  }

  private detach(key: KeyTurns<T>): void {
    (key.eligible ? this.eligible : this.early).remove(key);
  }

  /**
   * Keys whose start the virtual time reached become eligible; with none eligible, the virtual time jumps to
   * the earliest start (nobody else waits at this priority). Left keys the virtual time passed are forgotten.
   */
  private settle(): void {
    if (this.eligible.size === 0 && this.early.size > 0) {
      this.virtualTime = Math.max(this.virtualTime, this.early.first!.start);
    }
    for (let key = this.early.first; key && key.start <= this.virtualTime + EPSILON; key = this.early.first) {
      this.early.shift();
      key.eligible = true;
      this.eligible.insert(key);
    }
    for (let left = this.leftByStart.first; left && left.start <= this.virtualTime; left = this.leftByStart.first) {
      this.leftByStart.shift();
      this.left.delete(left.key);
    }
  }
}

/**
 * A requirement class's ready tasks in dispatch order, fair across fairness keys: priority first; among tasks
 * of the top priority, the keys take turns in proportion to their weights (PriorityLevel); within a key, the
 * usual order (`before`: ready time, then id). Used as the sorted list it replaces (`insert`, `remove`,
 * `first`, `size`, iteration), plus `take` for the task being dispatched, which spends its key's turn.
 *
 * While none of its tasks has a key it is that sorted list and nothing more, so work without fairness keys
 * costs what it did. The first task with a key turns it fair; it turns plain again once it is empty.
 */
export class FairQueue<T extends FairEntry> {
  private plain: SortedList<T> | undefined;
  private readonly levels = new Map<number, PriorityLevel<T>>();
  private readonly byPriority = new SortedList<PriorityLevel<T>>((a, b) => a.priority > b.priority);
  private count = 0;

  constructor(private readonly before: (a: T, b: T) => boolean) {
    this.plain = new SortedList(before);
  }

  get size(): number {
    return this.plain ? this.plain.size : this.count;
  }

  get first(): T | undefined {
    return this.plain ? this.plain.first : this.byPriority.first?.first;
  }

  /** Whether it takes turns across keys now (a task with a key is queued, or was since it was last empty). */
  get fair(): boolean {
    return this.plain === undefined;
  }

  insert(entry: T): void {
    if (this.plain && entry.fairness === undefined) {
      this.plain.insert(entry);
      return;
    }
    if (this.plain) this.turnFair();
    this.levelOf(entry.priority).insert(entry);
    this.count++;
  }

  /** Removes an entry that leaves without being dispatched (held, canceled, replaced): no turn is spent. */
  remove(entry: T): boolean {
    return this.drop(entry, false);
  }

  /** Removes the entry being dispatched: its key's turn is spent. */
  take(entry: T): boolean {
    return this.drop(entry, true);
  }

  *[Symbol.iterator](): Generator<T> {
    if (this.plain) yield* this.plain;
    else for (const level of this.levels.values()) yield* level;
  }

  private drop(entry: T, served: boolean): boolean {
    if (this.plain) return this.plain.remove(entry);
    const level = this.levels.get(entry.priority);
    if (!level?.remove(entry, served)) return false;
    this.count--;
    if (level.size === 0) {
      this.levels.delete(level.priority);
      this.byPriority.remove(level);
    }
    if (this.count === 0) this.plain = new SortedList(this.before);
    return true;
  }

  private levelOf(priority: number): PriorityLevel<T> {
    let level = this.levels.get(priority);
    if (!level) {
      level = new PriorityLevel<T>(priority, this.before);
      this.levels.set(priority, level);
      this.byPriority.insert(level);
    }
    return level;
  }

  /** The first task with a key arrived: the tasks without one so far join the key "" at virtual time 0. */
  private turnFair(): void {
    const waiting = this.plain!;
    this.plain = undefined;
    for (const entry of waiting) {
      this.levelOf(entry.priority).insert(entry);
      this.count++;
    }
  }
}
