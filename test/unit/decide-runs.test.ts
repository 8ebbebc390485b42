import {
  AdmissionPolicy,
  Jitter,
  RestartPolicy,
  type Run,
  RunPhase,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import type { AttemptOptions } from "../../server/src/core/attempt-outcome.js";
import { durationToMs } from "../../server/src/core/task-spec.js";
import type { FinishedRun, RunEnd } from "../../server/src/store/decide/runs.js";
import { assignWrite, finishWrite, startWrite } from "../../server/src/store/writes.js";
import {
  accepted,
  Committed,
  changesOf,
  commitBatch,
  decideBatch,
  runId,
  runningStatus,
  runOf,
  specOf,
  T0,
  taskId,
  taskOf,
} from "../helpers/write-view.js";

const NOW = T0 + 60_000;
const ID = taskId(1);
const QUEUED = taskId(10);
const RUNNER = { id: "runner-1", name: "one", instanceId: "instance-1" };
const half: AttemptOptions = { random: () => 0.5 };
const NO_OUTPUT = { bytes: 0, truncated: false };

/** A task running attempt `attempt` (its run RUNNING), owning slot "s" with one task queued behind it. */
function runningOwner(spec: Partial<TaskSpec>, attempt = 1, ownerStatus: Partial<Task["status"]> = {}): Committed {
  const committed = new Committed();
  const slotState = ownerStatus.cancelRequested === undefined ? "owner" : "none";
  committed.put(
    taskOf(ID, specOf({ slot: "s", ...spec }), slotState, { ...runningStatus(attempt), ...ownerStatus }),
    slotState,
  );
  committed.put(
    taskOf(QUEUED, specOf({ slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE }), "queued"),
    "queued",
  );
  committed.runs.set(runId(ID, attempt), runOf(ID, attempt));
  return committed;
}

const finish = (attempt: number, end: RunEnd, options = half, output = NO_OUTPUT) =>
  finishWrite({ runId: runId(ID, attempt), taskId: ID, slot: "s" }, end, output, options);
const assign = (attempt: number, historyLimit = 100) => assignWrite(ID, runId(ID, attempt), RUNNER, historyLimit);

describe("decideFinish", () => {
  it("records how the run ended and moves its task on through afterAttempt", () => {
    const committed = runningOwner({ restart: RestartPolicy.RESTART_POLICY_ON_FAILURE });
    const { view, outcomes } = decideBatch(
      committed,
      [
        finish(1, { phase: RunPhase.RUN_PHASE_FAILED, exitCode: 2, error: "boom" }, half, {
          bytes: 10,
          truncated: true,
        }),
      ],
      NOW,
    );
    const finished = accepted<FinishedRun>(outcomes[0]);
    const run: Run = {
      ...runOf(ID, 1),
      phase: RunPhase.RUN_PHASE_FAILED,
      exitCode: 2,
      error: "boom",
      finishTime: new Date(NOW),
      outputBytes: 10,
      outputTruncated: true,
      result: undefined,
    };
    expect(finished.run).toEqual(run);
    expect(view.writes.runs).toEqual([run]);
    expect(finished.task!.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.ATTEMPT_FAILED,
    });
    expect(finished.delayMs).toBeGreaterThan(0);
    // Retried: it keeps its slot, and the queue waits.
    expect(changesOf(view.writes)).toMatchObject([{ id: ID, slotState: "owner" }]);
  });

  it("a terminal owner hands its slot to the oldest queued task in the same commit", () => {
    const committed = runningOwner({});
    const { view, outcomes } = decideBatch(
      committed,
      [finish(1, { phase: RunPhase.RUN_PHASE_SUCCEEDED, exitCode: 0 })],
      NOW,
    );
    expect(accepted<FinishedRun>(outcomes[0]).task!.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    expect(changesOf(view.writes)).toMatchObject([
      { id: ID, phase: TaskPhase.TASK_PHASE_SUCCEEDED, slotState: "none", revision: committed.head + 1 },
      { id: QUEUED, phase: TaskPhase.TASK_PHASE_PENDING, slotState: "owner", revision: committed.head + 2 },
    ]);
  });

  it("an owner asked to stop releases its slot when its run ends", () => {
    const committed = runningOwner({ restart: RestartPolicy.RESTART_POLICY_ALWAYS });
    const owner = committed.get(ID)!.task;
    committed.put(
      { ...owner, status: { ...owner.status!, cancelRequested: true, reason: "CANCELED_BY_CLIENT" } },
      "owner",
    );
    const { view } = decideBatch(committed, [finish(1, { phase: RunPhase.RUN_PHASE_CANCELED })], NOW);
    expect(changesOf(view.writes)).toMatchObject([
      { id: ID, phase: TaskPhase.TASK_PHASE_CANCELED, slotState: "none" },
      { id: QUEUED, slotState: "owner" },
    ]);
  });

  it("a replaced task, which gave its slot up while it ran, promotes nobody when its run ends", () => {
    const committed = runningOwner({}, 1, { cancelRequested: true, reason: TaskReason.REPLACED });
    const { view } = decideBatch(committed, [finish(1, { phase: RunPhase.RUN_PHASE_CANCELED })], NOW);
    expect(changesOf(view.writes)).toMatchObject([{ id: ID, phase: TaskPhase.TASK_PHASE_CANCELED, slotState: "none" }]);
  });

  it("a run that ended already, or is unknown, is left alone", () => {
    const committed = runningOwner({});
    committed.runs.set(runId(ID, 1), { ...runOf(ID, 1), phase: RunPhase.RUN_PHASE_LOST });
    const unknown = finishWrite(
      { runId: "nope", taskId: ID, slot: "s" },
      { phase: RunPhase.RUN_PHASE_FAILED },
      NO_OUTPUT,
      half,
    );
    const { view, outcomes } = decideBatch(
      committed,
      [finish(1, { phase: RunPhase.RUN_PHASE_SUCCEEDED }), unknown],
      NOW,
    );
    expect(outcomes.map((outcome) => accepted(outcome))).toEqual([undefined, undefined]);
    expect(view.writes.runs).toEqual([]);
    expect(view.writes.tasks).toEqual([]);
  });

  it("a run whose task no longer runs is recorded; the task is left as it is", () => {
    const committed = runningOwner({});
    const owner = committed.get(ID)!.task;
    committed.put({ ...owner, status: { ...owner.status!, phase: TaskPhase.TASK_PHASE_CANCELED } }, "none");
    const { view, outcomes } = decideBatch(committed, [finish(1, { phase: RunPhase.RUN_PHASE_CANCELED })], NOW);
    expect(accepted<FinishedRun>(outcomes[0]).task).toBeUndefined();
    expect(view.writes.runs.map((run) => run.phase)).toEqual([RunPhase.RUN_PHASE_CANCELED]);
    expect(view.writes.tasks).toEqual([]);
  });

  it("a restart waits at least minDelayMs", () => {
    const committed = runningOwner({
      restart: RestartPolicy.RESTART_POLICY_ALWAYS,
      backoff: { jitter: Jitter.JITTER_FULL, multiplier: 2 },
    });
    const { outcomes } = commitBatch(
      committed,
      [finish(1, { phase: RunPhase.RUN_PHASE_SUCCEEDED }, { random: () => 0, minDelayMs: 200 })],
      NOW,
    );
    expect(accepted<FinishedRun>(outcomes[0]).delayMs).toBe(200);
    expect(committed.get(ID)!.task.status!.nextAttemptTime).toEqual(new Date(NOW + 200));
  });
});

describe("decideFinish with a start not written yet", () => {
  it("writes the reported start time with the end; a start already written is kept", () => {
    const committed = runningOwner({});
    committed.runs.set(runId(ID, 1), runOf(ID, 1, RunPhase.RUN_PHASE_ASSIGNED));
    const { outcomes } = decideBatch(
      committed,
      [finish(1, { phase: RunPhase.RUN_PHASE_SUCCEEDED, exitCode: 0, startedAtMs: NOW - 7 })],
      NOW,
    );
    expect(accepted<FinishedRun>(outcomes[0]).run).toMatchObject({
      phase: RunPhase.RUN_PHASE_SUCCEEDED,
      startTime: new Date(NOW - 7),
      finishTime: new Date(NOW),
    });

    const started = runningOwner({});
    started.runs.set(runId(ID, 1), { ...runOf(ID, 1), startTime: new Date(NOW - 100) });
    const again = decideBatch(
      started,
      [finish(1, { phase: RunPhase.RUN_PHASE_SUCCEEDED, exitCode: 0, startedAtMs: NOW - 7 })],
      NOW,
    );
    expect(accepted<FinishedRun>(again.outcomes[0]).run.startTime).toEqual(new Date(NOW - 100));
  });
});

describe("decideStart", () => {
  it("moves the run ASSIGNED → RUNNING and says so in the task; a requested cancel keeps its reason", () => {
    for (const cancelRequested of [false, true]) {
      const committed = runningOwner({}, 1, cancelRequested ? { cancelRequested, reason: TaskReason.REPLACED } : {});
      committed.runs.set(runId(ID, 1), runOf(ID, 1, RunPhase.RUN_PHASE_ASSIGNED));
      const { view, outcomes } = decideBatch(committed, [startWrite(runId(ID, 1), ID, NOW)], NOW);
      expect(accepted<Run>(outcomes[0])).toMatchObject({ phase: RunPhase.RUN_PHASE_RUNNING, startTime: new Date(NOW) });
      expect(view.writes.tasks[0]!.change.task.status!.reason).toBe(
        cancelRequested ? TaskReason.REPLACED : TaskReason.STARTED,
      );
      // Started twice (a repeated message): nothing more happens.
      commitBatch(committed, [startWrite(runId(ID, 1), ID, NOW)], NOW);
      const again = decideBatch(committed, [startWrite(runId(ID, 1), ID, NOW)], NOW);
      expect(accepted(again.outcomes[0])).toBeUndefined();
      expect(again.view.writes.tasks).toEqual([]);
    }
  });
});

/** A pending task of `spec` (no slot), stored; the loop below assigns and finishes it attempt after attempt. */
function pendingTask(spec: Partial<TaskSpec>): Committed {
  const committed = new Committed();
  committed.put(taskOf(ID, specOf(spec), "none"), "none");
  return committed;
}

describe("decideAssign", () => {
  it("creates the attempt's run on the runner and marks the task RUNNING", () => {
    const committed = pendingTask({});
    const { view, outcomes } = decideBatch(committed, [assign(1)], NOW);
    const { task, run } = accepted<{ task: Task; run: Run }>(outcomes[0]);
    expect(run).toEqual({
      id: runId(ID, 1),
      taskId: ID,
      attempt: 1,
      runnerId: RUNNER.id,
      runnerName: RUNNER.name,
      runnerInstanceId: RUNNER.instanceId,
      phase: RunPhase.RUN_PHASE_ASSIGNED,
      error: "",
      outputBytes: 0,
      outputTruncated: false,
      assignTime: new Date(NOW),
      logUrl: "",
      failedInitStep: 0,
    });
    expect(task.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_RUNNING,
      attempt: 1,
      runnerId: RUNNER.id,
      reason: TaskReason.ASSIGNED,
      startTime: new Date(NOW),
      nextAttemptTime: undefined,
      prunedRuns: 0,
    });
    expect(view.writes.runs).toEqual([run]);
    expect(view.writes.prunedRuns).toEqual([]);
  });

  it("leaves a task that waits in a queue, runs already or is gone", () => {
    const committed = runningOwner({});
    const gone = assignWrite(taskId(99), "run", RUNNER, 100);
    const queued = assignWrite(QUEUED, "run", RUNNER, 100);
    const { view, outcomes } = decideBatch(committed, [assign(2), queued, gone], NOW);
    expect(outcomes.map((outcome) => accepted(outcome))).toEqual([undefined, undefined, undefined]);
    expect(view.writes).toMatchObject({ tasks: [], runs: [] });
  });

  it("keeps the newest historyLimit runs of a task restarted again and again; the status counts the pruned", () => {
    const committed = pendingTask({ restart: RestartPolicy.RESTART_POLICY_ALWAYS });
    for (let attempt = 1; attempt <= 6; attempt++) {
      const { view, outcomes } = commitBatch(committed, [assign(attempt, 2)], NOW);
      const pruned = Math.max(0, attempt - 2);
      expect(accepted<{ task: Task }>(outcomes[0]).task.status!.prunedRuns).toBe(pruned);
      expect(view.writes.prunedRuns).toEqual(pruned > 0 ? [{ taskId: ID, throughAttempt: pruned }] : []);
      expect([...committed.runs.values()].map((run) => run.attempt)).toEqual(
        attempt === 1 ? [1] : [attempt - 1, attempt],
      );
      commitBatch(
        committed,
        [finish(attempt, { phase: attempt % 2 ? RunPhase.RUN_PHASE_FAILED : RunPhase.RUN_PHASE_LOST })],
        NOW,
      );
    }
    expect(committed.get(ID)!.task.status).toMatchObject({
      prunedRuns: 4,
      runCounts: { succeeded: 0, failed: 3, timeout: 0, canceled: 0, lost: 3 },
    });
  });

  it("a history limit raised later prunes nothing until the runs outgrow it", () => {
    const committed = pendingTask({ restart: RestartPolicy.RESTART_POLICY_ALWAYS });
    const stored = committed.get(ID)!.task;
    committed.put({ ...stored, status: { ...stored.status!, attempt: 4, prunedRuns: 3 } }, "none");
    const { view, outcomes } = decideBatch(committed, [assign(5, 10)], NOW);
    expect(accepted<{ task: Task }>(outcomes[0]).task.status!.prunedRuns).toBe(3);
    expect(view.writes.prunedRuns).toEqual([]);
  });
});

describe("backoff across attempts", () => {
  it("decorrelated jitter grows from last_backoff, which survives in the stored status", () => {
    const committed = pendingTask({
      restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
      maxAttempts: 10,
      backoff: { jitter: Jitter.JITTER_DECORRELATED, initialDelay: { seconds: 1, nanos: 0 }, multiplier: 2 },
    });
    const delays: number[] = [];
    const stored: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      commitBatch(committed, [assign(attempt)], NOW);
      const { outcomes } = commitBatch(committed, [finish(attempt, { phase: RunPhase.RUN_PHASE_FAILED })], NOW);
      delays.push(accepted<FinishedRun>(outcomes[0]).delayMs!);
      stored.push(durationToMs(committed.get(ID)!.task.status!.lastBackoff!));
    }
    // delay = min(30 s, 1 s + 0.5 × (3 × previous − 1 s)), from 1 s: each grows from the one stored before it.
    expect(delays).toEqual([2000, 3500, 5750, 9125, 14187, 21780, 30000, 30000]);
    expect(stored).toEqual(delays);
  });
});

describe("decideFinish: a deferred run (retry-after)", () => {
  const keys: Partial<TaskSpec> = {
    rateLimits: [{ key: "api", perSecond: 5, perMinute: 0, burst: 0 }],
    concurrency: [{ key: "db", maxRunning: 2 }],
  };
  const deferred = (retryAfterKey?: string): RunEnd => ({
    phase: RunPhase.RUN_PHASE_FAILED,
    error: "429",
    retryAfterMs: 5_000,
    retryAfterKey,
  });

  it("pauses every rate-limit and concurrency key of the task until now + N, in the same commit as the end", () => {
    const { view, outcomes } = decideBatch(runningOwner(keys), [finish(1, deferred())], NOW);
    const finished = accepted<FinishedRun>(outcomes[0]);
    expect(finished.run.retryAfter).toEqual({ seconds: 5, nanos: 0 });
    expect(finished.paused).toEqual({ keys: ["api", "db"], untilMs: NOW + 5_000 });
    expect(view.writes.keyPauses).toEqual([
      { key: "api", untilMs: NOW + 5_000, byRunId: runId(ID, 1) },
      { key: "db", untilMs: NOW + 5_000, byRunId: runId(ID, 1) },
    ]);
    expect(finished.task!.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_PENDING,
      reason: TaskReason.RETRY_AFTER,
    });
  });

  it("retry_after_key pauses only that key; one the task does not hold pauses none and says why", () => {
    const named = decideBatch(runningOwner(keys), [finish(1, deferred("db"))], NOW);
    expect(named.view.writes.keyPauses.map(({ key }) => key)).toEqual(["db"]);
    const stranger = decideBatch(runningOwner(keys), [finish(1, deferred("other"))], NOW);
    expect(stranger.view.writes.keyPauses).toEqual([]);
    const finished = accepted<FinishedRun>(stranger.outcomes[0]);
    expect(finished.droppedRetryAfterKey).toBe(
      'retry_after_key "other" is not one of the task\'s rate-limit or concurrency keys (api, db); only the task waits',
    );
    expect(finished.task!.status!.reason).toBe(TaskReason.RETRY_AFTER);
  });

  it("a task without keys pauses nothing: only it waits", () => {
    const { view, outcomes } = decideBatch(runningOwner({}), [finish(1, deferred())], NOW);
    expect(view.writes.keyPauses).toEqual([]);
    expect(accepted<FinishedRun>(outcomes[0]).task!.status!.nextAttemptTime).toEqual(new Date(NOW + 5_000));
  });
});
