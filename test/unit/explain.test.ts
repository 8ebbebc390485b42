import {
  type DispatchPause,
  parseLabelSelector,
  runnerSelectorFromLabelSelector,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskSpec,
  type TaskStatus,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { type ExplainInputs, explainTask, type RunnerView } from "../../server/src/core/explain.js";
import { closestFit, rankByFit, unmetRequirements } from "../../server/src/core/runner-fit.js";
import { noMatchingRunnerMessage } from "../../server/src/core/wait-messages.js";
import { specOf, T0, taskId, taskOf } from "../helpers/write-view.js";

const NOW = T0 + 60_000;

const runner = (name: string, labels: Record<string, string>, more: Partial<RunnerView> = {}): RunnerView => ({
  id: `id-${name}`,
  name,
  labels,
  kinds: ["subprocess"],
  capacity: 2,
  running: 0,
  draining: false,
  ...more,
});

const selecting = (selector: string, overrides: Partial<TaskSpec> = {}) =>
  specOf({ runnerSelector: runnerSelectorFromLabelSelector(parseLabelSelector(selector)), ...overrides });

const pending = (spec: TaskSpec, status: Partial<TaskStatus> = {}): Task => taskOf(taskId(1), spec, "none", status);

const inputs = (task: Task, more: Partial<ExplainInputs> = {}): ExplainInputs => ({
  task,
  nowMs: NOW,
  runners: [],
  pauses: [],
  limits: new Map(),
  keyStates: new Map(),
  rates: new Map(),
  keyRunning: new Map(),
  ...more,
});

const requirements = (selector: string, pinnedRunnerId?: string) => ({
  kind: "subprocess",
  selector: parseLabelSelector(selector),
  pinnedRunnerId,
});

describe("runner fit", () => {
  it("names every requirement a runner fails, as written, with what the runner has", () => {
    const wasmOnly = { ...runner("w", { gpu: "t4" }), kinds: ["wasm"] };
    expect(unmetRequirements(wasmOnly, requirements("gpu=a100,zone in (eu,us),!spot"))).toEqual([
      { requirement: "kind subprocess", has: "it runs wasm" },
      { requirement: "gpu=a100", has: "it has gpu=t4" },
      { requirement: "zone in (eu,us)", has: "it has no label zone" },
    ]);
    expect(unmetRequirements(runner("s", { spot: "yes" }), requirements("!spot"))).toEqual([
      { requirement: "!spot", has: "it has spot=yes" },
    ]);
  });

  it("ranks runners closest first: those that fit, then fewer unmet requirements, then by name", () => {
    const runners = [
      runner("b-two-off", {}),
      runner("c-fits", { gpu: "a100", zone: "eu" }),
      runner("a-one-off", { gpu: "a100" }),
      runner("a-fits", { gpu: "a100", zone: "eu" }),
    ];
    const ranked = rankByFit(runners, requirements("gpu=a100,zone=eu")).map((fit) => fit.runner.name);
    expect(ranked).toEqual(["a-fits", "c-fits", "a-one-off", "b-two-off"]);
    expect(closestFit(runners, requirements("gpu=a100,zone=eu"))!.runner.name).toBe("a-fits");
  });

  it("for a pinned task its runner comes first, however much it fails", () => {
    const pinnedTo = runner("pinned", {});
    const ranked = rankByFit([runner("other", { gpu: "a100" }), pinnedTo], requirements("gpu=a100", pinnedTo.id));
    expect(ranked.map((fit) => fit.runner.name)).toEqual(["pinned", "other"]);
    expect(ranked[1]!.unmet[0]!.requirement).toBe(`pinned to runner ${pinnedTo.id}`);
    expect(noMatchingRunnerMessage(ranked[0], pinnedTo.id)).toBe(
      `pinned to runner pinned (${pinnedTo.id}), which fails gpu=a100 (it has no label gpu)`,
    );
    expect(noMatchingRunnerMessage(ranked[1], "gone")).toBe("pinned to runner gone, which is not connected");
  });
});

describe("explainTask", () => {
  it("every blocker in force, the most decisive first", () => {
    const spec = selecting("gpu=a100", {
      slot: "nightly",
      labels: { tier: "batch" },
      concurrency: [{ key: "db", maxRunning: 2 }],
    });
    const pause: DispatchPause = { id: "freeze", target: { $case: "slot", value: "nightly" }, note: "" };
    const next = new Date(NOW + 5_000);
    const task = pending(spec, { attempt: 1, reason: TaskReason.ATTEMPT_FAILED, nextAttemptTime: next });
    const { blockers, runners } = explainTask(
      inputs(task, {
        runners: [runner("t4", { gpu: "t4" })],
        pauses: [pause],
        slotHolder: { taskId: taskId(9), queued: true },
        keyRunning: new Map([["db", 2]]),
      }),
    );
    expect(blockers.map((blocker) => blocker.reason)).toEqual([
      TaskReason.NO_MATCHING_RUNNER,
      TaskReason.DISPATCH_PAUSED,
      TaskReason.SLOT_QUEUED,
      TaskReason.CONCURRENCY_LIMITED,
      TaskReason.BACKOFF,
    ]);
    expect(blockers[0]!.message).toBe("no connected runner matches; the closest, t4, fails gpu=a100 (it has gpu=t4)");
    expect(blockers[1]).toMatchObject({ pauseId: "freeze", message: "dispatch paused by freeze (slot nightly)" });
    expect(blockers[2]).toMatchObject({ ownerTaskId: taskId(9) });
    expect(blockers[3]).toMatchObject({ key: "db", count: 2, limit: 2 });
    expect(blockers[4]).toMatchObject({
      until: next,
      message: `backing off after attempt 1 (ATTEMPT_FAILED) until ${next.toISOString()}`,
    });
    expect(runners).toEqual([
      {
        runnerId: "id-t4",
        name: "t4",
        matches: false,
        failedRequirement: "gpu=a100",
        running: 0,
        capacity: 2,
        draining: false,
      },
    ]);
  });

  it("RUNNERS_BUSY only when every matching runner is full or draining, with the counts", () => {
    const task = pending(selecting("pool=a"));
    const full = runner("full", { pool: "a" }, { running: 2 });
    const draining = runner("draining", { pool: "a" }, { draining: true });
    const [busy] = explainTask(inputs(task, { runners: [full, draining, runner("b", { pool: "b" })] })).blockers;
    expect(busy).toMatchObject({ reason: TaskReason.RUNNERS_BUSY, count: 2, limit: 2 });
    const free = runner("free", { pool: "a" });
    expect(explainTask(inputs(task, { runners: [full, draining, free] })).blockers).toEqual([]);
  });

  it("a reason decided elsewhere (a rate limit) is reported as stored, with its time; BACKOFF is not guessed", () => {
    const until = new Date(NOW + 30_000);
    const task = pending(specOf(), {
      attempt: 1,
      reason: "RETRY_AFTER",
      message: "vendor said wait",
      nextAttemptTime: until,
    });
    const { blockers } = explainTask(inputs(task, { runners: [runner("any", {})] }));
    expect(blockers).toEqual([expect.objectContaining({ reason: "RETRY_AFTER", message: "vendor said wait", until })]);
  });

  it("RATE_LIMITED from the keys' stored state: a key without a token (until its next one), a paused key", () => {
    const spec = specOf({
      rateLimits: [{ key: "vendor", perSecond: 0, perMinute: 1, burst: 0 }],
      concurrency: [{ key: "db", maxRunning: 5 }],
    });
    const task = pending(spec, { reason: TaskReason.RATE_LIMITED, message: "as stored" });
    const any = [runner("any", {})];
    // The bucket is full again a minute after its last token: the next is due then (burst 1: no tolerance).
    const tatMs = NOW + 40_000;
    const noToken = explainTask(
      inputs(task, { runners: any, keyStates: new Map([["vendor", { tatMs, pausedUntilMs: 0, pausedBy: "" }]]) }),
    );
    expect(noToken.blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.RATE_LIMITED,
        key: "vendor",
        until: new Date(tatMs),
        message: `rate limit vendor (1/min, burst 1) has no token: the next is due at ${new Date(tatMs).toISOString()}`,
      }),
    ]);
    const until = NOW + 30_000;
    const paused = explainTask(
      inputs(task, { runners: any, keyStates: new Map([["db", { tatMs: 0, pausedUntilMs: until, pausedBy: "r1" }]]) }),
    );
    expect(paused.blockers).toEqual([
      expect.objectContaining({
        reason: TaskReason.RATE_LIMITED,
        key: "db",
        until: new Date(until),
        message: `key db is paused until ${new Date(until).toISOString()} by a retry-after of run r1`,
      }),
    ]);
    // A full bucket, no pause: nothing holds it (the stored RATE_LIMITED is not repeated).
    expect(explainTask(inputs(task, { runners: any })).blockers).toEqual([]);
  });

  it("where keys are not counted, a stored CONCURRENCY_LIMITED stands as stored", () => {
    const spec = specOf({ concurrency: [{ key: "db", maxRunning: 1 }] });
    const stored = "concurrency key db is at its limit: 1 of 1 running";
    const task = pending(spec, { reason: TaskReason.CONCURRENCY_LIMITED, message: stored });
    const unknown = explainTask(inputs(task, { runners: [runner("any", {})], keyRunning: undefined }));
    expect(unknown.blockers).toEqual([
      expect.objectContaining({ reason: TaskReason.CONCURRENCY_LIMITED, message: stored }),
    ]);
    // Counted, and under the limit now: it is about to run.
    expect(explainTask(inputs(task, { runners: [runner("any", {})] })).blockers).toEqual([]);
  });

  it("NOT_BEFORE until spec.not_before, for a first attempt", () => {
    const notBefore = new Date(NOW + 3_600_000);
    const task = pending(specOf({ notBefore }));
    expect(explainTask(inputs(task, { runners: [runner("any", {})] })).blockers).toEqual([
      expect.objectContaining({ reason: TaskReason.NOT_BEFORE, until: notBefore }),
    ]);
  });

  it("a task running or ended has no blockers; its runners are still compared", () => {
    const task = pending(selecting("pool=a"), { phase: TaskPhase.TASK_PHASE_RUNNING, runnerId: "id-a" });
    const { blockers, runners } = explainTask(inputs(task, { runners: [runner("a", { pool: "a" }, { running: 1 })] }));
    expect(blockers).toEqual([]);
    expect(runners).toEqual([expect.objectContaining({ name: "a", matches: true, failedRequirement: "", running: 1 })]);
  });
});
