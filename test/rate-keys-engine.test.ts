import { TaskPhase, type TaskSpec } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { IDLE_KEY_MARGIN_MS, IDLE_KEYS_EVERY_MS } from "../server/src/execution/idle-keys.js";
import { EngineHarness } from "./helpers/engine.js";

// rate_keys holds a row per key whose bucket is not full (or that a retry-after pauses). Without the
// leader's janitor every key ever limited — one per tenant, say — would keep its row for good. On a
// fake clock (the engine harness), so the minutes it takes are milliseconds here.

let harness: EngineHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const limited = (key: string, perMinute: number): Partial<TaskSpec> => ({
  rateLimits: [{ key, perSecond: 0, perMinute, burst: 0 }],
});

describe("idle rate-limit keys", () => {
  it("the rows (and the leader's memory) of keys full and unpaused for a while go; keys in use stay", async () => {
    const h = (harness = await EngineHarness.start());
    const runner = await h.connect("janitor-runner", { capacity: 10 });
    const startMs = h.clock.now();
    await h.submit(limited("tenant-a", 60)); // one a second: full again a second later
    await h.submit(limited("tenant-b", 1)); // one a minute...
    await h.submit(limited("tenant-b", 1)); // ...so this one waits a minute, then takes the next token
    await h.nextAssign(runner);
    await h.nextAssign(runner);
    expect((await h.backend.rateKeys()).map(({ key }) => key)).toEqual(["tenant-a", "tenant-b"]);

    // The first pass after the margin: tenant-a has been full long enough; tenant-b's bucket is in use.
    await h.advanceHeartbeating(IDLE_KEY_MARGIN_MS + IDLE_KEYS_EVERY_MS);
    await h.nextAssign(runner); // tenant-b's second task took its token a minute in
    expect((await h.backend.rateKeys()).map(({ key }) => key)).toEqual(["tenant-b"]);
    expect(h.engine.dispatcher.rates.gates.state("tenant-a")).toBeUndefined();
    expect(h.engine.dispatcher.rates.gates.state("tenant-b")?.tatMs).toBe(startMs + 120_000);

    // Then tenant-b too, once its bucket has been full for the margin.
    await h.advanceHeartbeating(2 * IDLE_KEYS_EVERY_MS);
    expect(await h.backend.rateKeys()).toEqual([]);
    expect(h.engine.dispatcher.rates.gates.size).toBe(0);
  });
});

describe("rate-limit keys after a commit whose answer was lost", () => {
  it("the tokens an assign took count even when its commit was reported failed but stored", async () => {
    const h = (harness = await EngineHarness.start());
    let failed = false;
    // The first assign commits, and the engine hears STORE_UNAVAILABLE (PostgreSQL stopped after its COMMIT).
    h.storeUnavailable = (writes) => {
      if (failed || writes.runs.length === 0) return undefined;
      failed = true;
      return "committed";
    };
    await h.submit(limited("once-a-minute", 1));
    const runner = await h.connect("unlucky", { capacity: 10 });
    const first = await h.nextAssign(runner);
    expect((await h.backend.rateKeys()).map(({ key, tatMs }) => [key, tatMs])).toEqual([
      ["once-a-minute", h.clock.now() + 60_000],
    ]);
    // The next task of the key finds no token: the bucket is read back from the store, not taken as full.
    const second = await h.submit(limited("once-a-minute", 1));
    await h.clock.advanceAsync(1_000); // past the dispatcher's pause after the failed commit
    await h.dispatchPass();
    expect(runner.assigns.map((assign) => assign.taskId)).toEqual([first.taskId]);
    expect((await h.task(second.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await h.advanceHeartbeating(59_000);
    expect((await h.nextAssign(runner)).taskId).toBe(second.id);
  });
});
