import {
  Jitter,
  RestartPolicy,
  RunPhase,
  restartPolicyToJSON,
  runPhaseToJSON,
  type Task,
  TaskPhase,
  TaskReason,
  taskPhaseToJSON,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { type AttemptEnd, afterAttempt } from "../../server/src/core/attempt-outcome.js";
import { msToDuration } from "../../server/src/core/task-spec.js";
import { runningStatus, specOf, T0, taskId, taskOf } from "../helpers/write-view.js";

const NOW = T0 + 60_000;
const MAX_ATTEMPTS = 3;
const {
  RESTART_POLICY_NEVER: NEVER,
  RESTART_POLICY_ON_FAILURE: ON_FAILURE,
  RESTART_POLICY_ALWAYS: ALWAYS,
} = RestartPolicy;
const {
  RUN_PHASE_SUCCEEDED: S,
  RUN_PHASE_FAILED: F,
  RUN_PHASE_TIMEOUT: T,
  RUN_PHASE_CANCELED: C,
  RUN_PHASE_LOST: L,
} = RunPhase;
const P = TaskPhase;
const options = { random: () => 0.5 };

/** A running task at `attempt` of MAX_ATTEMPTS, no backoff jitter (delays are exact). */
function running(restart: RestartPolicy, attempt: number, maxAttempts = MAX_ATTEMPTS): Task {
  // Set after the defaults: they make NEVER a single attempt, and the table checks NEVER ignores attempts left.
  const spec = { ...specOf({ restart, backoff: { multiplier: 0, jitter: Jitter.JITTER_NONE } }), maxAttempts };
  return taskOf(taskId(1), spec, "owner", runningStatus(attempt));
}

type Row = [RestartPolicy, AttemptEnd["phase"], "attempts left" | "last attempt", TaskPhase, string];

// Every restart policy × run phase × attempts left, as DESIGN.md §4 "Restart" reads.
const TABLE: Row[] = [];
for (const policy of [RestartPolicy.RESTART_POLICY_UNSPECIFIED, NEVER]) {
  for (const left of ["attempts left", "last attempt"] as const) {
    TABLE.push(
      [policy, S, left, P.TASK_PHASE_SUCCEEDED, TaskReason.SUCCEEDED],
      [policy, F, left, P.TASK_PHASE_FAILED, TaskReason.ATTEMPT_FAILED],
      [policy, T, left, P.TASK_PHASE_TIMEOUT, TaskReason.ATTEMPT_TIMEOUT],
      [policy, C, left, P.TASK_PHASE_CANCELED, TaskReason.CANCELED_BY_CLIENT],
      [policy, L, left, P.TASK_PHASE_FAILED, TaskReason.RUNNER_LOST],
    );
  }
}
TABLE.push(
  [ON_FAILURE, S, "attempts left", P.TASK_PHASE_SUCCEEDED, TaskReason.SUCCEEDED],
  [ON_FAILURE, F, "attempts left", P.TASK_PHASE_PENDING, TaskReason.ATTEMPT_FAILED],
  [ON_FAILURE, T, "attempts left", P.TASK_PHASE_PENDING, TaskReason.ATTEMPT_TIMEOUT],
  [ON_FAILURE, C, "attempts left", P.TASK_PHASE_CANCELED, TaskReason.CANCELED_BY_CLIENT],
  [ON_FAILURE, L, "attempts left", P.TASK_PHASE_PENDING, TaskReason.RUNNER_LOST],
  [ON_FAILURE, S, "last attempt", P.TASK_PHASE_SUCCEEDED, TaskReason.SUCCEEDED],
  [ON_FAILURE, F, "last attempt", P.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED],
  [ON_FAILURE, T, "last attempt", P.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED],
  [ON_FAILURE, C, "last attempt", P.TASK_PHASE_CANCELED, TaskReason.CANCELED_BY_CLIENT],
  [ON_FAILURE, L, "last attempt", P.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED],
  [ALWAYS, S, "attempts left", P.TASK_PHASE_PENDING, TaskReason.BACKOFF],
  [ALWAYS, F, "attempts left", P.TASK_PHASE_PENDING, TaskReason.ATTEMPT_FAILED],
  [ALWAYS, T, "attempts left", P.TASK_PHASE_PENDING, TaskReason.ATTEMPT_TIMEOUT],
  [ALWAYS, C, "attempts left", P.TASK_PHASE_CANCELED, TaskReason.CANCELED_BY_CLIENT],
  [ALWAYS, L, "attempts left", P.TASK_PHASE_PENDING, TaskReason.RUNNER_LOST],
  [ALWAYS, S, "last attempt", P.TASK_PHASE_SUCCEEDED, TaskReason.SUCCEEDED],
  [ALWAYS, F, "last attempt", P.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED],
  [ALWAYS, T, "last attempt", P.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED],
  [ALWAYS, C, "last attempt", P.TASK_PHASE_CANCELED, TaskReason.CANCELED_BY_CLIENT],
  [ALWAYS, L, "last attempt", P.TASK_PHASE_EXHAUSTED, TaskReason.ATTEMPTS_EXHAUSTED],
);

const COUNTED: Record<AttemptEnd["phase"], string> = {
  [S]: "succeeded",
  [F]: "failed",
  [T]: "timeout",
  [C]: "canceled",
  [L]: "lost",
};

describe("afterAttempt", () => {
  const named = TABLE.map(
    (row) => [restartPolicyToJSON(row[0]), runPhaseToJSON(row[1]), row[2], taskPhaseToJSON(row[3]), row] as const,
  );
  it.each(named)("%s, %s, %s → %s", (_policy, _phase, _left, _taskPhase, [policy, phase, left, taskPhase, reason]) => {
    const attempt = left === "attempts left" ? MAX_ATTEMPTS - 1 : MAX_ATTEMPTS;
    const { task, delayMs } = afterAttempt(running(policy, attempt), { phase, exitCode: 3 }, NOW, options);
    const status = task.status!;
    expect(status).toMatchObject({ phase: taskPhase, reason, exitCode: 3, attempt, cancelRequested: false });
    expect(status.runCounts).toEqual({
      succeeded: 0,
      failed: 0,
      timeout: 0,
      canceled: 0,
      lost: 0,
      deferred: 0,
      [COUNTED[phase]]: 1,
    });
    expect(task.updateTime).toEqual(new Date(NOW));
    if (taskPhase === P.TASK_PHASE_PENDING) {
      // A service restarted after success starts its backoff over; failures grow it (no jitter: exact).
      const expectedDelay = phase === S ? 1000 : 1000 * 2 ** (attempt - 1);
      expect(delayMs).toBe(expectedDelay);
      expect(status.nextAttemptTime).toEqual(new Date(NOW + expectedDelay));
      expect(status.lastBackoff).toEqual(msToDuration(expectedDelay));
      expect(status.finishTime).toBeUndefined();
    } else {
      expect(delayMs).toBeUndefined();
      expect(status.nextAttemptTime).toBeUndefined();
      expect(status.finishTime).toEqual(new Date(NOW));
    }
  });

  it("ALWAYS with max_attempts 0 restarts without end", () => {
    const { task } = afterAttempt(running(ALWAYS, 10_000, 0), { phase: F }, NOW, options);
    expect(task.status!.phase).toBe(P.TASK_PHASE_PENDING);
  });

  it("a cancel requested while it ran wins over every restart, keeping the canceller's reason and message first", () => {
    for (const policy of [NEVER, ON_FAILURE, ALWAYS]) {
      for (const phase of [F, T, C, L] as AttemptEnd["phase"][]) {
        for (const attempt of [1, MAX_ATTEMPTS]) {
          const task = running(policy, attempt);
          task.status = {
            ...task.status!,
            cancelRequested: true,
            reason: TaskReason.REPLACED,
            message: "replaced by task x",
          };
          const next = afterAttempt(task, { phase, error: "killed" }, NOW, options);
          expect(next.delayMs).toBeUndefined();
          expect(next.task.status).toMatchObject({
            phase: P.TASK_PHASE_CANCELED,
            reason: TaskReason.REPLACED,
            cancelRequested: true,
            finishTime: new Date(NOW),
          });
          expect(next.task.status!.message).toMatch(new RegExp(`^replaced by task x; attempt ${attempt} .*: killed$`));
        }
      }
    }
  });

  it("a cancel requested without a reason or message still ends CANCELED, saying so", () => {
    const task = running(ON_FAILURE, 1);
    task.status = { ...task.status!, cancelRequested: true, reason: "", message: "" };
    const { task: next } = afterAttempt(task, { phase: T }, NOW, options);
    expect(next.status).toMatchObject({
      phase: P.TASK_PHASE_CANCELED,
      reason: TaskReason.CANCELED_BY_CLIENT,
      message: "canceled; attempt 1 timed out",
    });
  });

  it("a run that succeeds after a cancel was requested is SUCCEEDED, and not restarted even under ALWAYS", () => {
    const task = running(ALWAYS, 1);
    task.status = { ...task.status!, cancelRequested: true, reason: TaskReason.CANCELED_BY_CLIENT, message: "stop" };
    const next = afterAttempt(task, { phase: S, exitCode: 0 }, NOW, options);
    expect(next.delayMs).toBeUndefined();
    expect(next.task.status).toMatchObject({ phase: P.TASK_PHASE_SUCCEEDED, reason: TaskReason.SUCCEEDED });
  });

  it.each([
    [{ phase: S }, "attempt 2 succeeded"],
    [{ phase: F, exitCode: 3 }, "attempt 2 exited with code 3"],
    [{ phase: F, error: "spawn ENOENT" }, "attempt 2 failed: spawn ENOENT"],
    [{ phase: T }, "attempt 2 timed out"],
    [{ phase: L }, "attempt 2 was lost with its runner"],
    [{ phase: C, error: "by runner" }, "attempt 2 was canceled: by runner"],
  ] as [AttemptEnd, string][])("the message says how the attempt ended: %o", (end, message) => {
    expect(afterAttempt(running(NEVER, 2), end, NOW, options).task.status!.message).toBe(message);
  });

  it("a restart waits at least minDelayMs, whatever the backoff says", () => {
    const task = running(ALWAYS, 1);
    task.spec = { ...task.spec!, backoff: { ...task.spec!.backoff!, initialDelay: { seconds: 0, nanos: 0 } } };
    const bare = afterAttempt(task, { phase: S }, NOW, options);
    expect(bare.delayMs).toBe(0);
    const floored = afterAttempt(task, { phase: S }, NOW, { ...options, minDelayMs: 250 });
    expect(floored.delayMs).toBe(250);
    expect(floored.task.status!.nextAttemptTime).toEqual(new Date(NOW + 250));
    expect(floored.task.status!.lastBackoff).toEqual(msToDuration(250));
    // A backoff longer than the floor is kept.
    expect(afterAttempt(running(ALWAYS, 1), { phase: F }, NOW, { ...options, minDelayMs: 250 }).delayMs).toBe(1000);
  });

  it("run counts add up over the attempts, whatever they were", () => {
    let task = running(ALWAYS, 1, 0);
    for (const [attempt, phase] of ([S, F, F, T, L, S] as AttemptEnd["phase"][]).entries()) {
      task = { ...task, status: { ...task.status!, phase: P.TASK_PHASE_RUNNING, attempt: attempt + 1 } };
      task = afterAttempt(task, { phase }, NOW, options).task;
    }
    expect(task.status!.runCounts).toEqual({ succeeded: 2, failed: 2, timeout: 1, canceled: 0, lost: 1, deferred: 0 });
  });
});

describe("a failed init step", () => {
  const initFailed: AttemptEnd = {
    phase: F,
    exitCode: 3,
    error: 'init step 2 (sh -c "exit 3") exited with code 3',
    failedInitStep: 2,
  };

  it("ends the task FAILED with reason INIT_FAILED and a message naming the step", () => {
    const { task } = afterAttempt(running(NEVER, 1), initFailed, NOW, options);
    expect(task.status!.phase).toBe(P.TASK_PHASE_FAILED);
    expect(task.status!.reason).toBe(TaskReason.INIT_FAILED);
    expect(task.status!.message).toBe('attempt 1 failed: init step 2 (sh -c "exit 3") exited with code 3');
  });

  it("names the step itself when the runner's error does not", () => {
    const { task } = afterAttempt(running(NEVER, 1), { phase: F, failedInitStep: 4 }, NOW, options);
    expect(task.status!.message).toBe("attempt 1 failed in init step 4");
  });

  it("waits for the retry with reason INIT_FAILED, and exhausts as any failure", () => {
    expect(afterAttempt(running(ON_FAILURE, 1), initFailed, NOW, options).task.status).toMatchObject({
      phase: P.TASK_PHASE_PENDING,
      reason: TaskReason.INIT_FAILED,
    });
    expect(afterAttempt(running(ON_FAILURE, MAX_ATTEMPTS), initFailed, NOW, options).task.status).toMatchObject({
      phase: P.TASK_PHASE_EXHAUSTED,
      reason: TaskReason.ATTEMPTS_EXHAUSTED,
    });
  });

  it("a timeout in a step stays a timeout", () => {
    const end: AttemptEnd = { phase: T, error: "init step 1 (sleep 9) timed out", failedInitStep: 1 };
    const { status } = afterAttempt(running(NEVER, 1), end, NOW, options).task;
    expect(status).toMatchObject({ phase: P.TASK_PHASE_TIMEOUT, reason: TaskReason.ATTEMPT_TIMEOUT });
    expect(status!.message).toBe("attempt 1 timed out: init step 1 (sleep 9) timed out");
  });
});

describe("afterAttempt: a deferred attempt (retry-after)", () => {
  const deferredEnd: AttemptEnd = { phase: F, exitCode: 1, error: "429", retryAfterMs: 7_000 };

  it.each([NEVER, ON_FAILURE, ALWAYS])("%s, even on its last attempt: pending again after the time asked", (policy) => {
    const task = running(policy, MAX_ATTEMPTS);
    task.status!.lastBackoff = msToDuration(4_000);
    const { task: next, delayMs } = afterAttempt(task, deferredEnd, NOW, { ...options, minDelayMs: 60_000 });
    expect(delayMs).toBe(7_000);
    expect(next.status).toMatchObject({
      phase: P.TASK_PHASE_PENDING,
      reason: TaskReason.RETRY_AFTER,
      nextAttemptTime: new Date(NOW + 7_000),
      // The backoff is neither grown nor started over.
      lastBackoff: msToDuration(4_000),
      message: "attempt 3 deferred: the downstream asked to retry after 7s: 429",
    });
    expect(next.status!.runCounts).toMatchObject({ deferred: 1, failed: 0 });
  });

  it("deferred attempts count neither against max_attempts nor in the backoff", () => {
    // Attempt 3 of max 3, two of them deferred: one attempt counted, so a failure is retried, backoff 1 s.
    const task = running(ON_FAILURE, 3);
    task.status!.runCounts = { succeeded: 0, failed: 0, timeout: 0, canceled: 0, lost: 0, deferred: 2 };
    const { task: next, delayMs } = afterAttempt(task, { phase: F }, NOW, options);
    expect(next.status).toMatchObject({ phase: P.TASK_PHASE_PENDING, reason: TaskReason.ATTEMPT_FAILED });
    expect(delayMs).toBe(1000);
    expect(next.status!.runCounts).toMatchObject({ deferred: 2, failed: 1 });
  });

  it("a cancel requested while it ran still wins; only a FAILED end can be deferred", () => {
    const canceling = running(ON_FAILURE, 1);
    canceling.status = { ...canceling.status!, cancelRequested: true, reason: TaskReason.CANCELED_BY_CLIENT };
    expect(afterAttempt(canceling, deferredEnd, NOW, options).task.status).toMatchObject({
      phase: P.TASK_PHASE_CANCELED,
      runCounts: { deferred: 1, failed: 0 },
    });
    const timedOut = afterAttempt(running(NEVER, 1), { phase: T, retryAfterMs: 7_000 }, NOW, options);
    expect(timedOut.task.status).toMatchObject({ phase: P.TASK_PHASE_TIMEOUT, runCounts: { timeout: 1, deferred: 0 } });
  });
});
