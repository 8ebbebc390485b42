import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FairEntry, FairQueue } from "../../server/src/execution/fair-queue.js";

interface Entry extends FairEntry {
  readyAtMs: number;
}

/** The dispatch order within a key (and of a queue with no keys): priority, ready time, id. */
const before = (a: Entry, b: Entry): boolean =>
  a.priority !== b.priority
    ? a.priority > b.priority
    : a.readyAtMs !== b.readyAtMs
      ? a.readyAtMs < b.readyAtMs
      : a.taskId < b.taskId;

let seq = 0;
const entry = (key: string | undefined, weight = 1, priority = 0): Entry => ({
  taskId: `t${String(++seq).padStart(7, "0")}`,
  priority,
  readyAtMs: 0,
  fairness: key === undefined ? undefined : { key, weight },
});

/** Dispatches `n` (or all) entries as the dispatcher does: take the first, spend its key's turn. */
function dispatch(queue: FairQueue<Entry>, n = Number.POSITIVE_INFINITY): Entry[] {
  const taken: Entry[] = [];
  for (let first = queue.first; first && taken.length < n; first = queue.first) {
    queue.take(first);
    taken.push(first);
  }
  return taken;
}

const keyOf = (e: Entry) => e.fairness?.key ?? "";

describe("FairQueue", () => {
  it("without fairness keys it is the plain dispatch order, and stays plain", () => {
    const queue = new FairQueue<Entry>(before);
    const entries = [entry(undefined, 1, 1), entry(undefined), entry(undefined, 1, 5), entry(undefined)];
    for (const e of entries) queue.insert(e);
    expect(queue.fair).toBe(false);
    expect(queue.size).toBe(4);
    expect(dispatch(queue).map((e) => e.taskId)).toEqual(
      [entries[2]!, entries[0]!, entries[1]!, entries[3]!].map((e) => e.taskId),
    );
  });

  it("one key's 1 000 tasks do not starve another's 10: they alternate from the moment both wait", () => {
    const queue = new FairQueue<Entry>(before);
    for (let i = 0; i < 1_000; i++) queue.insert(entry("a"));
    expect(dispatch(queue, 100).every((e) => keyOf(e) === "a")).toBe(true);
    for (let i = 0; i < 10; i++) queue.insert(entry("b"));
    const next20 = dispatch(queue, 20).map(keyOf);
    expect(next20.filter((key) => key === "b")).toHaveLength(10);
    expect(next20).toEqual(Array.from({ length: 10 }, () => ["a", "b"]).flat());
  });

  it('tasks without a key share the key "" with the keyed ones', () => {
    const queue = new FairQueue<Entry>(before);
    for (let i = 0; i < 50; i++) queue.insert(entry(undefined));
    for (let i = 0; i < 5; i++) queue.insert(entry("tenant-b"));
    expect(queue.fair).toBe(true);
    expect(dispatch(queue, 10).map(keyOf)).toEqual(Array.from({ length: 5 }, () => ["", "tenant-b"]).flat());
    // Once empty it is plain again.
    dispatch(queue);
    expect(queue.size).toBe(0);
    expect(queue.fair).toBe(false);
  });

  it("priorities win over fairness; keys take turns within a priority", () => {
    const queue = new FairQueue<Entry>(before);
    for (let i = 0; i < 5; i++) queue.insert(entry("a", 1, 0));
    for (let i = 0; i < 3; i++) queue.insert(entry("b", 1, 9));
    for (let i = 0; i < 3; i++) queue.insert(entry("a", 1, 9));
    const order = dispatch(queue);
    expect(order.slice(0, 6).every((e) => e.priority === 9)).toBe(true);
    expect(order.slice(0, 6).map(keyOf)).toEqual(["b", "a", "b", "a", "b", "a"]);
    expect(order.slice(6).every((e) => e.priority === 0)).toBe(true);
  });

  it("a key that joins late gets its share from then on, no burst of catch-up turns", () => {
    const queue = new FairQueue<Entry>(before);
    for (let i = 0; i < 500; i++) queue.insert(entry("a"));
    for (let i = 0; i < 500; i++) queue.insert(entry("b"));
    dispatch(queue, 200);
    for (let i = 0; i < 100; i++) queue.insert(entry("late"));
    const next = dispatch(queue, 90);
    // Every prefix: the late key has a third of the turns, give or take one.
    let late = 0;
    next.forEach((e, i) => {
      if (keyOf(e) === "late") late++;
      expect(Math.abs(late - (i + 1) / 3)).toBeLessThanOrEqual(1);
    });
  });

  it("a key that leaves and comes back cannot win turns by it", () => {
    const queue = new FairQueue<Entry>(before);
    for (let i = 0; i < 300; i++) queue.insert(entry("steady"));
    const order: string[] = [];
    // "bursty" always has exactly one task waiting: it leaves with each turn and comes back at once.
    queue.insert(entry("bursty"));
    for (let i = 0; i < 100; i++) {
      const [taken] = dispatch(queue, 1);
      order.push(keyOf(taken!));
      if (keyOf(taken!) === "bursty") queue.insert(entry("bursty"));
    }
    const bursty = order.filter((key) => key === "bursty").length;
    expect(bursty).toBeGreaterThanOrEqual(49);
    expect(bursty).toBeLessThanOrEqual(51);
  });

  it("tasks of one key with different weights: each turn is priced by its task, the rotation stays sound", () => {
    const queue = new FairQueue<Entry>(before);
    for (let i = 0; i < 50; i++) queue.insert(entry("a"));
    // b's head asks for weight 1, the task behind it for 2; b leaves once both are dispatched.
    queue.insert(entry("b", 1));
    queue.insert(entry("b", 2));
    const first = dispatch(queue, 4).map(keyOf);
    expect(first.filter((key) => key === "b")).toHaveLength(2);
    // Once b is gone, a newcomer takes turns with a as any key does.
    for (let i = 0; i < 10; i++) queue.insert(entry("c"));
    expect(dispatch(queue, 20).filter((e) => keyOf(e) === "c")).toHaveLength(10);
  });

  it("a task removed without being dispatched (held, canceled) spends no turn", () => {
    const queue = new FairQueue<Entry>(before);
    const a = Array.from({ length: 4 }, () => entry("a"));
    const b = Array.from({ length: 4 }, () => entry("b"));
    for (const e of [...a, ...b]) queue.insert(e);
    // a's first two are held back (its head, then its next head): a keeps its turn.
    expect(queue.first).toBe(a[0]);
    queue.remove(a[0]!);
    queue.remove(a[1]!);
    expect(queue.first).toBe(a[2]);
    // Removing a task that is not a head, or one that is not queued, changes nothing else.
    queue.remove(b[2]!);
    expect(queue.remove(b[2]!)).toBe(false);
    expect(queue.size).toBe(5);
    expect(new Set([...queue].map((e) => e.taskId))).toEqual(
      new Set([a[2], a[3], b[0], b[1], b[3]].map((e) => e!.taskId)),
    );
    expect(dispatch(queue).map((e) => e.taskId)).toEqual([a[2], b[0], a[3], b[1], b[3]].map((e) => e!.taskId));
  });

  it("within a key, the usual order: priority, ready time, id", () => {
    const queue = new FairQueue<Entry>(before);
    const late = { ...entry("a"), readyAtMs: 50 };
    const early = { ...entry("a"), readyAtMs: 10 };
    queue.insert(late);
    queue.insert(early);
    expect(dispatch(queue)).toEqual([early, late]);
  });

  it("shares stay within one turn of ideal for any weights, after every dispatch", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 300 }),
        (weights, turns) => {
          const queue = new FairQueue<Entry>(before);
          // Key by key: ties go to the older head, so the first keys are favoured as much as they can be.
          weights.forEach((w, k) => {
            for (let i = 0; i < turns; i++) queue.insert(entry(`k${k}`, w));
          });
          const total = weights.reduce((a, b) => a + b, 0);
          const counts = weights.map(() => 0);
          for (let n = 1; n <= turns; n++) {
            const [taken] = dispatch(queue, 1);
            counts[Number(keyOf(taken!).slice(1))]!++;
            weights.forEach((w, k) => {
              expect(Math.abs(counts[k]! - (n * w) / total)).toBeLessThanOrEqual(1 + 1e-6);
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("whatever is inserted, removed and taken, it holds the rest, with a top-priority task first", () => {
    const op = fc.oneof(
      fc.record({ insert: fc.option(fc.nat({ max: 4 })), weight: fc.integer({ min: 1, max: 5 }), priority: fc.nat(2) }),
      fc.record({ remove: fc.nat() }),
      fc.record({ take: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queue = new FairQueue<Entry>(before);
        const held = new Map<string, Entry>();
        for (const step of ops) {
          if ("insert" in step) {
            const e = entry(step.insert === null ? undefined : `k${step.insert}`, step.weight, step.priority);
            queue.insert(e);
            held.set(e.taskId, e);
          } else if ("remove" in step && held.size > 0) {
            const victim = [...held.values()][step.remove % held.size]!;
            expect(queue.remove(victim)).toBe(true);
            held.delete(victim.taskId);
          } else if ("take" in step && held.size > 0) {
            const first = queue.first!;
            expect(held.has(first.taskId)).toBe(true);
            expect(first.priority).toBe(Math.max(...[...held.values()].map((e) => e.priority)));
            queue.take(first);
            held.delete(first.taskId);
          }
          expect(queue.size).toBe(held.size);
        }
        expect(new Set([...queue].map((e) => e.taskId))).toEqual(new Set(held.keys()));
        expect(dispatch(queue)).toHaveLength(held.size);
      }),
      { numRuns: 300 },
    );
  });
});
