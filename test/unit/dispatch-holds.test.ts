import type { DispatchPause } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import type { RunnerCandidate } from "../../server/src/core/routing.js";
import { parseLabelSelector } from "../../server/src/core/selector.js";
import { DispatchIndex, type PendingEntry } from "../../server/src/execution/dispatch-index.js";
import { PauseRules } from "../../server/src/execution/pause-rules.js";

const runner: RunnerCandidate = {
  id: "r1",
  name: "r1",
  labels: {},
  kinds: ["subprocess"],
  capacity: 100,
  running: 0,
  acceptsWork: true,
};

let seq = 0;
const entry = (overrides: Partial<PendingEntry> = {}): PendingEntry => ({
  taskId: `t${String(++seq).padStart(4, "0")}`,
  priority: 0,
  readyAtMs: 0,
  slot: "",
  kind: "subprocess",
  selector: parseLabelSelector(""),
  ...overrides,
});

describe("DispatchIndex groups (concurrency keys, pauses)", () => {
  it("hold says whether a wait is new: not when a change of the task re-tracked it into the same group", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner);
    const held = entry();
    index.upsert(held, 0);
    expect(index.hold(held.taskId, "rate\nk", 0)).toBe(true);
    // Its reason was rewritten (a committed change): tracked again, held again — the same wait.
    index.upsert({ ...held, reason: "RATE_LIMITED" }, 1);
    expect(index.hold(held.taskId, "rate\nk", 1)).toBe(false);
    // Let go, then held again: a new wait. Held in another group: a new wait too.
    expect(index.release("rate\nk", 2)).toBe(1);
    expect(index.hold(held.taskId, "rate\nk", 2)).toBe(true);
    index.upsert({ ...held }, 3);
    expect(index.hold(held.taskId, "key\nk", 3)).toBe(true);
    expect(index.hold(held.taskId, "key\nk", 3)).toBe(false); // not ready: nothing to hold
  });

  it("a held task is not handed out; release lets them go in dispatch order, as many as `take` says", () => {
    const index = new DispatchIndex<RunnerCandidate>();
    index.upsertRunner(runner);
    const [low, high, mid] = [entry({ priority: 1 }), entry({ priority: 9 }), entry({ priority: 5 })];
    for (const e of [low, high, mid]) {
      index.upsert(e, 0);
      index.hold(e.taskId, "key\nk", 0);
    }
    expect(index.next()).toBeUndefined();
    expect(index.heldIn(low.taskId)).toBe("key\nk");
    expect(index.waitingFor(low.taskId)).toBe("held");
    expect([...index.heldUnchecked.keys()]).toEqual([low.taskId, high.taskId, mid.taskId]);
    expect(index.release("key\nk", 1, (_, taken) => taken < 2)).toBe(2);
    expect(index.next()!.entry.taskId).toBe(high.taskId);
    index.remove(high.taskId);
    expect(index.next()!.entry.taskId).toBe(mid.taskId);
    expect(index.heldIn(low.taskId)).toBe("key\nk");
    // A held task that is canceled leaves its group.
    index.remove(low.taskId);
    expect(index.release("key\nk", 2)).toBe(0);
    expect(index.heldUnchecked.size).toBe(0);
  });
});

const pause = (id: string, target: DispatchPause["target"]): DispatchPause => ({
  id,
  target,
  note: "",
  createTime: undefined,
});

describe("PauseRules", () => {
  it("matches by slot, by concurrency key and by label selector; replace says which pauses are gone", () => {
    const rules = new PauseRules();
    expect(
      rules.replace([
        pause("s", { $case: "slot", value: "nightly" }),
        pause("k", { $case: "concurrencyKey", value: "tenant-a" }),
        pause("l", { $case: "labelSelector", value: "tier=batch" }),
      ]),
    ).toEqual([]);
    expect(rules.match(entry({ slot: "nightly" }))?.id).toBe("s");
    expect(rules.match(entry({ concurrency: [{ key: "tenant-a", limit: 3 }] }))?.id).toBe("k");
    expect(rules.match(entry({ labels: { tier: "batch" } }))?.id).toBe("l");
    expect(rules.match(entry({ slot: "hourly", labels: { tier: "web" } }))).toBeUndefined();
    expect(rules.replace([pause("l", { $case: "labelSelector", value: "tier=batch" })])).toEqual(["s", "k"]);
    expect(rules.size).toBe(1);
  });
});
