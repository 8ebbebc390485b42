import { describe, expect, it } from "vitest";
import type { RunnerCandidate } from "../../server/src/core/routing.js";
import { parseLabelSelector } from "../../server/src/core/selector.js";
import { DispatchIndex, type PendingEntry } from "../../server/src/execution/dispatch-index.js";

const runner = (id: string, labels: Record<string, string> = {}): RunnerCandidate => ({
  id,
  name: id,
  labels,
  kinds: ["subprocess"],
  capacity: 1000,
  running: 0,
  acceptsWork: true,
});

let seq = 0;
const entry = (key: string | undefined, overrides: Partial<PendingEntry> = {}): PendingEntry => ({
  taskId: `t${String(++seq).padStart(5, "0")}`,
  priority: 0,
  readyAtMs: 0,
  slot: "",
  kind: "subprocess",
  selector: parseLabelSelector(""),
  fairness: key === undefined ? undefined : { key, weight: 1 },
  ...overrides,
});

/** What the dispatcher does with a pick it assigns: `take` it (its key's turn is spent). */
function dispatch(index: DispatchIndex<RunnerCandidate>, n: number): string[] {
  const keys: string[] = [];
  for (let pick = index.next(); pick && keys.length < n; pick = index.next()) {
    keys.push(pick.entry.fairness?.key ?? "");
    index.take(pick.entry.taskId);
  }
  return keys;
}

describe("DispatchIndex with fairness keys", () => {
  it("a key whose tasks are held (a concurrency key at its limit) loses no turns; released, it has them", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("r1"));
    const a = Array.from({ length: 3 }, () => entry("a"));
    const b = Array.from({ length: 6 }, () => entry("b"));
    for (const e of [...a, ...b]) index.upsert(e, 0);
    // The dispatcher holds each head of a in turn (its concurrency key is full): b goes on meanwhile.
    for (const held of a) {
      expect(index.next()!.entry.taskId).toBe(held.taskId);
      index.hold(held.taskId, "key\na-limit", 0);
    }
    expect(dispatch(index, 2)).toEqual(["b", "b"]);
    expect(index.release("key\na-limit", 0)).toBe(3);
    // a joins at the class's virtual time: turns alternate, no catch-up burst for the time it was held.
    expect(dispatch(index, 6)).toEqual(["a", "b", "a", "b", "a", "b"]);
  });

  it("a task that leaves otherwise (canceled, replaced) spends no turn; one that is taken does", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("r1"));
    const a = Array.from({ length: 3 }, () => entry("a"));
    const b = Array.from({ length: 3 }, () => entry("b"));
    for (const e of [...a, ...b]) index.upsert(e, 0);
    index.remove(a[0]!.taskId);
    // Upserting a task again (its stored row changed) keeps its key's place too.
    index.upsert({ ...a[1]! }, 0);
    expect(dispatch(index, 4)).toEqual(["a", "b", "a", "b"]);
  });

  it("across requirement classes the order stays priority, then age; turns are taken within a class", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("r1", { gpu: "yes" }));
    const old = entry(undefined, { readyAtMs: 1, selector: parseLabelSelector("gpu") });
    const fair = [entry("a", { readyAtMs: 2 }), entry("a", { readyAtMs: 3 }), entry("b", { readyAtMs: 4 })];
    for (const e of [...fair, old]) index.upsert(e, 10);
    const order: string[] = [];
    for (let pick = index.next(); pick; pick = index.next()) {
      order.push(pick.entry.taskId);
      index.take(pick.entry.taskId);
    }
    expect(order).toEqual([old.taskId, fair[0]!.taskId, fair[2]!.taskId, fair[1]!.taskId]);
  });
});
