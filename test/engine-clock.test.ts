import {
  type Backoff,
  Jitter,
  OutputStream,
  RestartPolicy,
  RunnerState,
  RunOutcome,
  RunPhase,
  TaskPhase,
  TaskReason,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { msToDuration } from "../server/src/core/task-spec.js";
import { START_WRITE_DELAY_MS } from "../server/src/execution/run-tracker.js";
import { EngineHarness } from "./helpers/engine.js";

// The engine's time rules — leases, backoff, deadline backstops, far not_before — on a fake clock:
// a 15 s lease or a 30-day delay takes milliseconds, and "not before" is checked to the
// millisecond. The same rules are exercised end to end with real processes elsewhere
// (execution, stall, long-delays); these make each one exact.

const DAY = 86_400_000;

const backoff = (initialMs: number, jitter: Jitter, maxMs = 30_000, multiplier = 2): Backoff => ({
  initialDelay: msToDuration(initialMs),
  maxDelay: msToDuration(maxMs),
  multiplier,
  jitter,
});

const onFailure = (maxAttempts: number, policy: Backoff) => ({
  restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
  maxAttempts,
  backoff: policy,
});

let harness: EngineHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("leases on a fake clock", () => {
  it("a runner silent for the lease TTL is expired at that instant, its run LOST and retried by policy", async () => {
    const h = (harness = await EngineHarness.start());
    const task = await h.submit(onFailure(2, backoff(1_000, Jitter.JITTER_NONE)));
    const silent = await h.connect("silent");
    const first = await h.nextAssign(silent);
    silent.started(first.runId);
    const lastHeardMs = h.clock.now();

    await h.clock.advanceAsync(h.settings.leaseTtlMs - 1);
    expect(silent.closed).toBeUndefined();
    expect((await h.run(first.runId)).phase).toBe(RunPhase.RUN_PHASE_RUNNING);

    await h.clock.advanceAsync(1);
    const expiredAtMs = lastHeardMs + h.settings.leaseTtlMs;
    expect(silent.closed?.kind).toBe("lease-expired");
    const lost = await h.until(async () => {
      const run = await h.run(first.runId);
      return run.phase === RunPhase.RUN_PHASE_LOST ? run : undefined;
    }, "the run recorded as lost");
    expect(lost.finishTime).toEqual(new Date(expiredAtMs));
    expect((await h.backend.getRunner(silent.session!.id))?.state).toBe(RunnerState.RUNNER_STATE_DISCONNECTED);
    expect((await h.task(task.id)).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.RUNNER_LOST,
      attempt: 1,
      nextAttemptTime: new Date(expiredAtMs + 1_000),
    });

    // Retried per policy: the second attempt goes to another runner once the backoff is over.
    const other = await h.connect("other");
    await h.clock.advanceToAsync(expiredAtMs + 999);
    await h.dispatchPass();
    expect(other.assigns).toHaveLength(0);
    await h.clock.advanceToAsync(expiredAtMs + 1_000);
    expect(await h.nextAssign(other)).toMatchObject({ taskId: task.id, attempt: 2 });
    expect(silent.assigns).toHaveLength(1);
  });

  it("heartbeats keep the lease for as long as they come; silence expires it one TTL after the last", async () => {
    const h = (harness = await EngineHarness.start());
    const task = await h.submit({ timeout: msToDuration(DAY) });
    const runner = await h.connect("steady");
    const { runId } = await h.nextAssign(runner);
    runner.started(runId);

    await h.advanceHeartbeating(20 * h.settings.leaseTtlMs);
    expect(runner.closed).toBeUndefined();
    expect((await h.run(runId)).phase).toBe(RunPhase.RUN_PHASE_RUNNING);

    await h.clock.advanceAsync(h.settings.leaseTtlMs - 1);
    expect(runner.closed).toBeUndefined();
    await h.clock.advanceAsync(1);
    expect(runner.closed?.kind).toBe("lease-expired");
    await h.until(async () => (await h.task(task.id)).status!.phase === TaskPhase.TASK_PHASE_FAILED, "task failed");
  });

  it("any message renews the lease, not only a heartbeat", async () => {
    const h = (harness = await EngineHarness.start());
    await h.submit({ timeout: msToDuration(DAY) });
    const runner = await h.connect("chatty");
    const { runId } = await h.nextAssign(runner);
    await h.clock.advanceAsync(h.settings.leaseTtlMs - 1);
    runner.started(runId);
    await h.clock.advanceAsync(h.settings.leaseTtlMs - 1);
    runner.say({
      $case: "output",
      value: { runId, stream: OutputStream.OUTPUT_STREAM_STDOUT, data: Buffer.from("still here\n"), seq: 1, offset: 0 },
    });
    await h.clock.advanceAsync(h.settings.leaseTtlMs - 1);
    expect(runner.closed).toBeUndefined();
    await h.clock.advanceAsync(1);
    expect(runner.closed?.kind).toBe("lease-expired");
  });

  it("a lease timer that fires far too late (a stalled process) waits for the heartbeats read right after", async () => {
    const h = (harness = await EngineHarness.start());
    await h.submit({ timeout: msToDuration(DAY) });
    const runner = await h.connect("patient");
    const { runId } = await h.nextAssign(runner);
    runner.started(runId);
    await h.advanceHeartbeating(10_000);

    // The supervisor stalls for three leases; its lease timer fires 30 s late, then the heartbeat
    // the runner sent meanwhile is read.
    await h.clock.stallAsync(3 * h.settings.leaseTtlMs);
    expect(runner.closed).toBeUndefined();
    runner.heartbeat();
    await h.advanceHeartbeating(10 * h.settings.leaseTtlMs);
    expect(runner.closed).toBeUndefined();
    expect((await h.run(runId)).phase).toBe(RunPhase.RUN_PHASE_RUNNING);
  });

  it("after a stall, a runner that stays silent is expired one heartbeat interval later", async () => {
    const h = (harness = await EngineHarness.start());
    await h.submit({ timeout: msToDuration(DAY) });
    const runner = await h.connect("gone");
    const { runId } = await h.nextAssign(runner);
    runner.started(runId);
    await h.advanceHeartbeating(10_000);

    await h.clock.stallAsync(3 * h.settings.leaseTtlMs);
    expect(runner.closed).toBeUndefined();
    await h.clock.advanceAsync(h.settings.heartbeatIntervalMs - 1);
    expect(runner.closed).toBeUndefined();
    await h.clock.advanceAsync(1);
    expect(runner.closed?.kind).toBe("lease-expired");
    await h.until(async () => (await h.run(runId)).phase === RunPhase.RUN_PHASE_LOST, "the run lost");
  });
});

describe("backoff on a fake clock", () => {
  it("each retry of an ON_FAILURE task is dispatched exactly at next_attempt_time, at the computed delays", async () => {
    const h = (harness = await EngineHarness.start());
    const task = await h.submit(onFailure(3, backoff(1_000, Jitter.JITTER_NONE)));
    const runner = await h.connect("worker");
    let assign = await h.nextAssign(runner);

    for (const [attempt, delayMs] of [
      [1, 1_000],
      [2, 2_000],
    ] as const) {
      expect(assign.attempt).toBe(attempt);
      runner.started(assign.runId);
      await h.advanceHeartbeating(3_000);
      const failedAtMs = h.clock.now();
      runner.finished(assign.runId, RunOutcome.RUN_OUTCOME_FAILED, 1);
      const waiting = await h.until(async () => {
        const status = (await h.task(task.id)).status!;
        return status.phase === TaskPhase.TASK_PHASE_PENDING ? status : undefined;
      }, `attempt ${attempt} recorded as failed`);
      expect(waiting).toMatchObject({
        reason: TaskReason.ATTEMPT_FAILED,
        nextAttemptTime: new Date(failedAtMs + delayMs),
        lastBackoff: msToDuration(delayMs),
      });

      await h.clock.advanceToAsync(failedAtMs + delayMs - 1);
      await h.dispatchPass();
      expect(runner.assigns).toHaveLength(attempt);
      await h.clock.advanceToAsync(failedAtMs + delayMs);
      assign = await h.nextAssign(runner);
      expect(assign.attempt).toBe(attempt + 1);
      expect((await h.run(assign.runId)).assignTime).toEqual(new Date(failedAtMs + delayMs));
    }

    runner.finished(assign.runId, RunOutcome.RUN_OUTCOME_FAILED, 1);
    const exhausted = await h.until(async () => {
      const status = (await h.task(task.id)).status!;
      return status.phase === TaskPhase.TASK_PHASE_EXHAUSTED ? status : undefined;
    }, "the task exhausted");
    expect(exhausted.nextAttemptTime).toBeUndefined();
  });

  it("a restart waits at least minRestartDelay, however short the backoff", async () => {
    const h = (harness = await EngineHarness.start({ minRestartDelayMs: 2_500 }));
    const task = await h.submit(onFailure(2, backoff(1_000, Jitter.JITTER_NONE)));
    const runner = await h.connect("worker");
    const first = await h.nextAssign(runner);
    const failedAtMs = h.clock.now();
    runner.finished(first.runId, RunOutcome.RUN_OUTCOME_FAILED, 1);
    await h.until(
      async () => (await h.task(task.id)).status!.phase === TaskPhase.TASK_PHASE_PENDING,
      "the attempt recorded as failed",
    );
    expect((await h.task(task.id)).status).toMatchObject({
      nextAttemptTime: new Date(failedAtMs + 2_500),
      lastBackoff: msToDuration(2_500),
    });

    await h.clock.advanceToAsync(failedAtMs + 1_000); // the backoff alone would be over here
    await h.dispatchPass();
    expect(runner.assigns).toHaveLength(1);
    await h.clock.advanceToAsync(failedAtMs + 2_499);
    await h.dispatchPass();
    expect(runner.assigns).toHaveLength(1);
    await h.clock.advanceToAsync(failedAtMs + 2_500);
    expect(await h.nextAssign(runner)).toMatchObject({ taskId: task.id, attempt: 2 });
  });

  it("last_backoff survives a restart of the engine: decorrelated jitter continues from it", async () => {
    // random() is 0.5: decorrelated delays are 1 s + 0.5 × (3 × previous − 1 s): 2 s, then 3.5 s.
    const h = (harness = await EngineHarness.start({}, () => 0.5));
    const task = await h.submit(onFailure(5, backoff(1_000, Jitter.JITTER_DECORRELATED, 60_000)));
    const before = await h.connect("worker");
    const first = await h.nextAssign(before);
    const firstFailedAtMs = h.clock.now();
    before.finished(first.runId, RunOutcome.RUN_OUTCOME_FAILED, 1);
    await h.until(
      async () => (await h.task(task.id)).status!.lastBackoff !== undefined,
      "the first attempt recorded as failed",
    );
    expect((await h.task(task.id)).status!.lastBackoff).toEqual(msToDuration(2_000));

    await h.restart();
    const after = await h.connect("worker");
    await h.clock.advanceToAsync(firstFailedAtMs + 1_999);
    await h.dispatchPass();
    expect(after.assigns).toHaveLength(0);
    await h.clock.advanceToAsync(firstFailedAtMs + 2_000);
    const second = await h.nextAssign(after);
    expect(second.attempt).toBe(2);
    const secondFailedAtMs = h.clock.now();
    after.finished(second.runId, RunOutcome.RUN_OUTCOME_FAILED, 1);
    const status = await h.until(async () => {
      const stored = (await h.task(task.id)).status!;
      return stored.phase === TaskPhase.TASK_PHASE_PENDING && stored.attempt === 2 ? stored : undefined;
    }, "the second attempt recorded as failed");
    // Started afresh, the delay would have been 2 s again.
    expect(status.lastBackoff).toEqual(msToDuration(3_500));
    expect(status.nextAttemptTime).toEqual(new Date(secondFailedAtMs + 3_500));
  });
});

describe("deadline backstop on a fake clock", () => {
  it("a run never reported ended gets a cancel and ends TIMEOUT after timeout + cancel grace + 5 s, not before", async () => {
    const h = (harness = await EngineHarness.start());
    const task = await h.submit({ timeout: msToDuration(30_000) });
    const runner = await h.connect("mute");
    const assign = await h.nextAssign(runner);
    runner.started(assign.runId);
    const assignedAtMs = (await h.run(assign.runId)).assignTime!.getTime();
    expect(assign.deadline).toEqual(new Date(assignedAtMs + 30_000));
    const backstopMs = assignedAtMs + 30_000 + h.settings.cancelGracePeriodMs + 5_000;

    // The runner stays alive (heartbeats) but never says the run ended.
    await h.advanceHeartbeating(backstopMs - 1 - h.clock.now());
    expect(runner.cancels).toHaveLength(0);
    expect((await h.run(assign.runId)).phase).toBe(RunPhase.RUN_PHASE_RUNNING);

    await h.clock.advanceToAsync(backstopMs);
    expect(runner.cancels).toEqual([expect.objectContaining({ runId: assign.runId, reason: "deadline exceeded" })]);
    const ended = await h.until(async () => {
      const run = await h.run(assign.runId);
      return run.phase === RunPhase.RUN_PHASE_TIMEOUT ? run : undefined;
    }, "the run ended TIMEOUT");
    expect(ended.finishTime).toEqual(new Date(backstopMs));
    expect((await h.task(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_TIMEOUT);
    expect(runner.closed).toBeUndefined();
  });
});

describe("far not_before on a fake clock", () => {
  it("a task with not_before 30 days ahead is dispatched exactly then, and nothing happens before", async () => {
    const h = (harness = await EngineHarness.start());
    const dueMs = h.clock.now() + 30 * DAY;
    const task = await h.submit({ notBefore: new Date(dueMs) });
    expect(task.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, reason: TaskReason.NOT_BEFORE });
    const runner = await h.connect("waiting");
    await h.clock.advanceAsync(0);
    expect(runner.assigns).toHaveLength(0);

    // The month passes in heartbeat-sized synchronous moves, the engine's promise work settling once
    // a simulated hour: an async move per firing would take minutes, the waiting-reason check
    // ticking every second. Every timer still fires at its due time.
    let settledAtMs = h.clock.now();
    while (h.clock.now() < dueMs - 1) {
      h.clock.advanceTo(Math.min(dueMs - 1, h.clock.now() + h.settings.heartbeatIntervalMs));
      runner.heartbeat();
      if (h.clock.now() - settledAtMs >= 3_600_000) {
        await h.clock.settle();
        settledAtMs = h.clock.now();
      }
    }
    await h.dispatchPass();
    expect(h.clock.now()).toBe(dueMs - 1);
    expect(runner.closed).toBeUndefined();
    expect(runner.sent.map((message) => message.message?.$case)).toEqual(["welcome"]);
    expect((await h.task(task.id)).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.NOT_BEFORE,
      attempt: 0,
    });

    await h.clock.advanceToAsync(dueMs);
    const assign = await h.nextAssign(runner);
    expect(assign.taskId).toBe(task.id);
    expect((await h.run(assign.runId)).assignTime).toEqual(new Date(dueMs));
  });
});

describe("waiting reasons on a fake clock", () => {
  const reasonOf = async (h: EngineHarness, id: string) => (await h.task(id)).status!.reason;

  it("tasks that join a full class after its verdict was decided are told RUNNERS_BUSY too, each once", async () => {
    const h = (harness = await EngineHarness.start());
    const runner = await h.connect("only", { capacity: 1 });
    const first = await h.submit();
    expect((await h.nextAssign(runner)).taskId).toBe(first.id);

    const early = await h.submit();
    expect(await reasonOf(h, early.id)).toBe(TaskReason.NO_MATCHING_RUNNER);
    await h.advanceHeartbeating(2_000);
    expect(await reasonOf(h, early.id)).toBe(TaskReason.RUNNERS_BUSY);
    const earlyRevision = (await h.task(early.id)).revision;

    // The class's verdict is decided already: later arrivals are compared when they have waited a second.
    const late = await Promise.all(Array.from({ length: 30 }, () => h.submit()));
    await h.advanceHeartbeating(2_000);
    for (const task of late) expect(await reasonOf(h, task.id)).toBe(TaskReason.RUNNERS_BUSY);
    // A reason that is already true is never written again.
    await h.advanceHeartbeating(3_000);
    expect((await h.task(early.id)).revision).toBe(earlyRevision);
  });

  it("when the class's verdict changes, every task of it is compared again", async () => {
    const h = (harness = await EngineHarness.start());
    const runner = await h.connect("only", { capacity: 1 });
    await h.submit();
    await h.nextAssign(runner);
    const waiting = await Promise.all(Array.from({ length: 5 }, () => h.submit()));
    await h.advanceHeartbeating(2_000);
    for (const task of waiting) expect(await reasonOf(h, task.id)).toBe(TaskReason.RUNNERS_BUSY);

    // The only fitting runner goes; once its lease ends nobody fits: NO_MATCHING_RUNNER for all of them.
    await h.advanceHeartbeating(h.settings.leaseTtlMs + 3_000, []);
    for (const task of waiting) expect(await reasonOf(h, task.id)).toBe(TaskReason.NO_MATCHING_RUNNER);
  });
});

describe("run starts on a fake clock", () => {
  it("a start is written START_WRITE_DELAY_MS after it is reported, with the time it was reported", async () => {
    const h = (harness = await EngineHarness.start());
    const task = await h.submit({ timeout: msToDuration(DAY) });
    const runner = await h.connect("worker");
    const { runId } = await h.nextAssign(runner);
    const reportedAtMs = h.clock.now();
    runner.started(runId);
    await h.clock.advanceAsync(START_WRITE_DELAY_MS - 1);
    expect((await h.run(runId)).phase).toBe(RunPhase.RUN_PHASE_ASSIGNED);
    expect((await h.task(task.id)).status!.reason).toBe(TaskReason.ASSIGNED);
    await h.clock.advanceAsync(1);
    const run = await h.until(async () => {
      const stored = await h.run(runId);
      return stored.phase === RunPhase.RUN_PHASE_RUNNING ? stored : undefined;
    }, "the start written");
    expect(run.startTime).toEqual(new Date(reportedAtMs));
    expect((await h.task(task.id)).status!.reason).toBe(TaskReason.STARTED);
  });

  it("a run that ends before its start is written is written once: start and end together", async () => {
    const h = (harness = await EngineHarness.start());
    const task = await h.submit();
    const runner = await h.connect("worker");
    const { runId } = await h.nextAssign(runner);
    const assigned = (await h.task(task.id)).revision;
    const reportedAtMs = h.clock.now();
    runner.started(runId);
    await h.clock.advanceAsync(10);
    runner.finished(runId, RunOutcome.RUN_OUTCOME_SUCCEEDED);
    const done = await h.until(async () => {
      const stored = await h.task(task.id);
      return stored.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED ? stored : undefined;
    }, "the end written");
    // One change after the assign: the end (the start was never written on its own).
    expect(done.revision).toBe(assigned + 1);
    expect(await h.run(runId)).toMatchObject({
      phase: RunPhase.RUN_PHASE_SUCCEEDED,
      startTime: new Date(reportedAtMs),
      finishTime: new Date(reportedAtMs + 10),
    });
    await h.clock.advanceAsync(START_WRITE_DELAY_MS);
    expect((await h.task(task.id)).revision).toBe(done.revision);
  });
});

describe("dispatch inside the commit", () => {
  it("a task submitted while a runner has room is stored and assigned by one commit", async () => {
    const h = (harness = await EngineHarness.start());
    const runner = await h.connect("ready", { capacity: 2 });
    const batches: { id: string; phase: TaskPhase }[][] = [];
    h.backend.onCommit((changes) =>
      batches.push(changes.map(({ task }) => ({ id: task.id, phase: task.status!.phase }))),
    );
    const task = await h.submit();
    const assign = await h.nextAssign(runner);
    expect(assign.taskId).toBe(task.id);
    expect(batches.filter((batch) => batch.some((change) => change.id === task.id))).toEqual([
      [
        { id: task.id, phase: TaskPhase.TASK_PHASE_PENDING },
        { id: task.id, phase: TaskPhase.TASK_PHASE_RUNNING },
      ],
    ]);
  });

  it("if the commit with a submit and its assign fails, nothing is stored or sent and the room is kept", async () => {
    const h = (harness = await EngineHarness.start());
    const runner = await h.connect("flaky", { capacity: 1 });
    h.commitFault = (writes) => writes.runs.length > 0;
    await expect(h.submit()).rejects.toThrow(/commitFault/);
    await h.clock.advanceAsync(0);
    expect(runner.assigns).toEqual([]);
    expect(h.engine.tracker.active.size).toBe(0);
    expect(h.engine.dispatcher.index.size).toBe(0);
    expect(await h.backend.head()).toBe(0);

    h.commitFault = undefined;
    await h.clock.advanceAsync(1_000);
    const task = await h.submit();
    expect(await h.nextAssign(runner)).toMatchObject({ taskId: task.id, attempt: 1 });
  });
});
