import { describe, expect, it } from "vitest";
import type { RunnerCandidate } from "../../server/src/core/routing.js";
import { parseLabelSelector } from "../../server/src/core/selector.js";
import { DispatchIndex, type PendingEntry } from "../../server/src/execution/dispatch-index.js";

const runner = (id: string, labels: Record<string, string>, capacity = 1, kinds = ["subprocess"]): RunnerCandidate => ({
  id,
  name: id,
  labels,
  kinds,
  capacity,
  running: 0,
  acceptsWork: true,
});

let seq = 0;
const entry = (selector: string, overrides: Partial<PendingEntry> = {}): PendingEntry => ({
  taskId: `t${String(++seq).padStart(4, "0")}`,
  priority: 0,
  readyAtMs: 0,
  slot: "",
  kind: "subprocess",
  selector: parseLabelSelector(selector),
  ...overrides,
});

/** Drains the index the way the engine does: take the head, give it to a runner, repeat. */
function drain(index: DispatchIndex<RunnerCandidate>): string[] {
  const order: string[] = [];
  for (let pick = index.next(); pick; pick = index.next()) {
    const chosen = pick.runners[0]!;
    order.push(`${pick.entry.taskId}@${chosen.id}`);
    index.remove(pick.entry.taskId);
    chosen.running++;
    index.roomChanged(chosen);
  }
  return order;
}

describe("DispatchIndex", () => {
  it("never surfaces work no runner fits, however much of it there is", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("gpu-1", { gpu: "yes" }, 10));
    for (let i = 0; i < 1000; i++) index.upsert(entry("zone=mars"), 0);
    expect(index.next()).toBeUndefined();
    expect(index.size).toBe(1000);
    const routable = entry("gpu");
    index.upsert(routable, 0);
    expect(index.next()?.entry.taskId).toBe(routable.taskId);
  });

  it("hands out work across requirement classes in dispatch order: priority, then ready time, then id", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("any", {}, 10));
    const low = entry("", { priority: 0, readyAtMs: 1 });
    const highLate = entry("tier!=db", { priority: 5, readyAtMs: 3 });
    const highEarly = entry("!spot", { priority: 5, readyAtMs: 2 });
    const lowSameTime = entry("tier!=db", { priority: 0, readyAtMs: 1 });
    for (const e of [low, highLate, highEarly, lowSameTime]) index.upsert(e, 10);
    expect(drain(index)).toEqual([highEarly, highLate, low, lowSameTime].map((e) => `${e.taskId}@any`));
  });

  it("a class closes when its runners are full and opens again when one has room", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    const only = runner("solo", { pool: "a" });
    index.upsertRunner(only);
    const [first, second] = [entry("pool=a"), entry("pool=a")];
    index.upsert(first!, 0);
    index.upsert(second!, 0);
    expect(drain(index)).toEqual([`${first!.taskId}@solo`]);
    expect(index.waitingFor(second!.taskId)).toBe("runners-full");
    only.running = 0;
    index.roomChanged(only);
    expect(drain(index)).toEqual([`${second!.taskId}@solo`]);
  });

  it("draining and disconnected runners take nothing; a runner's new labels re-route it", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    const r = runner("r", { pool: "a" });
    index.upsertRunner(r);
    const task = entry("pool=b");
    index.upsert(task, 0);
    expect(index.waitingFor(task.taskId)).toBe("no-runner");
    r.labels = { pool: "b" };
    r.acceptsWork = false;
    index.upsertRunner(r);
    expect(index.next()).toBeUndefined();
    r.acceptsWork = true;
    index.roomChanged(r);
    expect(index.next()?.entry.taskId).toBe(task.taskId);
    index.removeRunner("r");
    expect(index.next()).toBeUndefined();
    expect(index.waitingFor(task.taskId)).toBe("no-runner");
  });

  it("tasks not ready yet wait; promoteDue lets them in and says when the next one is due", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("r", {}, 10));
    const later = entry("", { readyAtMs: 500 });
    const latest = entry("", { readyAtMs: 900 });
    index.upsert(latest, 100);
    index.upsert(later, 100);
    expect(index.next()).toBeUndefined();
    expect(index.waitingFor(later.taskId)).toBe("not-ready");
    expect(index.promoteDue(100)).toBe(500);
    expect(index.promoteDue(600)).toBe(900);
    expect(drain(index)).toEqual([`${later.taskId}@r`]);
    expect(index.promoteDue(900)).toBe(Number.POSITIVE_INFINITY);
    expect(drain(index)).toEqual([`${latest.taskId}@r`]);
  });

  it("holds a task whose slot is still busy and releases it with the slot", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("r", {}, 10));
    const slotted = entry("", { slot: "deploy" });
    const other = entry("");
    index.upsert(slotted, 0);
    index.upsert(other, 0);
    index.holdForSlot(slotted.taskId);
    expect(index.waitingFor(slotted.taskId)).toBe("slot");
    expect(drain(index)).toEqual([`${other.taskId}@r`]);
    index.releaseSlot("deploy", 0);
    expect(drain(index)).toEqual([`${slotted.taskId}@r`]);
  });

  it("removes a task from wherever it waits, and forgets a class once it is empty", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("r", {}, 10));
    const waiting = entry("", { readyAtMs: 1_000 });
    const ready = entry("");
    const held = entry("", { slot: "s" });
    for (const e of [waiting, ready, held]) index.upsert(e, 0);
    index.holdForSlot(held.taskId);
    for (const e of [waiting, ready, held]) index.remove(e.taskId);
    expect(index.size).toBe(0);
    expect(index.promoteDue(2_000)).toBe(Number.POSITIVE_INFINITY);
    index.releaseSlot("s", 0);
    expect(index.next()).toBeUndefined();
    // Upserting an id again replaces the first entry.
    const again = entry("");
    index.upsert(again, 0);
    index.upsert({ ...again, priority: 9 }, 0);
    expect(index.size).toBe(1);
    expect(index.next()?.entry.priority).toBe(9);
  });

  it("matches kinds: embedded:* runners take any handler, others only theirs", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("resizer", {}, 1, ["embedded:resize"]));
    const resize = entry("", { kind: "embedded:resize" });
    const other = entry("", { kind: "embedded:other" });
    index.upsert(resize, 0);
    index.upsert(other, 0);
    expect(drain(index)).toEqual([`${resize.taskId}@resizer`]);
    index.upsertRunner(runner("catch-all", {}, 1, ["embedded:*"]));
    expect(drain(index)).toEqual([`${other.taskId}@catch-all`]);
  });
});

describe("DispatchIndex with pinned tasks", () => {
  it("gives a pinned task only to its runner, while other runners take the unpinned work", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    const a = runner("a", { pool: "x" }, 5);
    const b = runner("b", { pool: "x" }, 5);
    index.upsertRunner(a);
    index.upsertRunner(b);
    const pinned = entry("pool=x", { pinnedRunnerId: "b", priority: 10 });
    const free = entry("pool=x");
    index.upsert(pinned, 0);
    index.upsert(free, 0);
    expect(drain(index)).toEqual([`${pinned.taskId}@b`, `${free.taskId}@a`]);
  });

  it("a pinned task waits while its runner is unknown, full or does not match, and goes when it can", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner("other", { pool: "x" }, 5));
    const pinned = entry("pool=x", { pinnedRunnerId: "late" });
    index.upsert(pinned, 0);
    expect(index.next()).toBeUndefined();
    expect(index.waitingFor(pinned.taskId)).toBe("no-runner");
    // Its runner connects with labels its selector refuses: still nobody.
    index.upsertRunner(runner("late", { pool: "y" }, 1));
    expect(index.waitingFor(pinned.taskId)).toBe("no-runner");
    const full = { ...runner("late", { pool: "x" }, 1), running: 1 };
    index.upsertRunner(full);
    expect(index.waitingFor(pinned.taskId)).toBe("runners-full");
    full.running = 0;
    index.roomChanged(full);
    expect(drain(index)).toEqual([`${pinned.taskId}@late`]);
  });

  it("tells runnerSeen of runners that connect and of runners that get room", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    const seen: string[] = [];
    index.runnerSeen = (r) => seen.push(r.id);
    const busy = { ...runner("r", {}, 1), running: 1 };
    index.upsertRunner(busy);
    busy.running = 0;
    index.roomChanged(busy);
    expect(seen).toEqual(["r", "r"]);
  });
});
