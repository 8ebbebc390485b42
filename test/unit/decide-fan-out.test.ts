import { Placement, RunPhase, type Task, TaskPhase, TaskReason, type TaskSpec } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { fanOutChildId, PARENT_LABEL } from "../../server/src/core/fan-out.js";
import { specHash } from "../../server/src/core/task-spec.js";
import type { RunEnd } from "../../server/src/store/decide/runs.js";
import {
  assignWrite,
  cancelChildWrite,
  cancelWrite,
  fanOutChildWrite,
  fanOutWindowEndWrite,
  finishWrite,
  submitWrite,
} from "../../server/src/store/writes.js";
import { accepted, Committed, changesOf, commitBatch, runId, specOf, T0, taskId } from "../helpers/write-view.js";

// The decide layer of fan-out on an in-memory store: the parent and its children in one transaction, the
// parent's counts moved in the transaction of each child's change, its end by max_failed, window and cancel.

const PARENT = taskId(1);
const RUNNERS = ["0190c5e2-7b1d-7c3a-8f00-00000000aaaa", "0190c5e2-7b1d-7c3a-8f00-00000000bbbb"];
const SETTINGS = { slotQueueLimit: 10, idempotencyTtlMs: 86_400_000 };
const OPTIONS = { random: () => 0, minDelayMs: 0 };
const runner = (id: string) => ({ id, name: `runner-${id.slice(-4)}`, instanceId: "p" });

const fanOutSpec = (overrides: Partial<TaskSpec> = {}) =>
  specOf({ placement: Placement.PLACEMENT_EACH_MATCHING_RUNNER, labels: { app: "x" }, ...overrides });

function submitted(spec: TaskSpec, runnerIds = RUNNERS, nowMs = T0) {
  const committed = new Committed();
  const params = { spec, requestId: "r", specHash: specHash(spec), id: PARENT, fanOutRunnerIds: runnerIds };
  const { outcomes, view } = commitBatch(committed, [submitWrite(params, SETTINGS)], nowMs);
  return { committed, parent: accepted<Task>(outcomes[0]), writes: view.writes };
}

const parentOf = (committed: Committed) => committed.get(PARENT)!.task;
const child = (n: number) => fanOutChildId(PARENT, RUNNERS[n]!);

/** Runs child `n` on its runner and ends it with `end` (each step its own transaction). */
function runChild(committed: Committed, n: number, end: RunEnd, nowMs = T0 + 1_000): void {
  commitBatch(committed, [assignWrite(child(n), runId(child(n), 1), runner(RUNNERS[n]!), 10)], nowMs);
  commitBatch(
    committed,
    [
      finishWrite(
        { runId: runId(child(n), 1), taskId: child(n), slot: "" },
        end,
        { bytes: 0, truncated: false },
        OPTIONS,
      ),
    ],
    nowMs,
  );
}

const SUCCEEDED: RunEnd = { phase: RunPhase.RUN_PHASE_SUCCEEDED, exitCode: 0 };
const FAILED: RunEnd = { phase: RunPhase.RUN_PHASE_FAILED, exitCode: 3 };

describe("fan-out submit", () => {
  it("stores the parent RUNNING and one pinned child per runner in one transaction", () => {
    const { parent, writes, committed } = submitted(fanOutSpec());
    expect(parent.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_RUNNING, reason: TaskReason.FANNED_OUT });
    expect(parent.status!.fanOut).toEqual({
      children: 2,
      pending: 2,
      running: 0,
      succeeded: 0,
      failed: 0,
      canceled: 0,
    });
    expect(changesOf(writes).map((c) => c.id)).toEqual([PARENT, child(0), child(1)]);
    for (const [n, runnerId] of RUNNERS.entries()) {
      const stored = committed.get(child(n))!.task;
      expect(stored.parentId).toBe(PARENT);
      expect(stored.spec).toMatchObject({
        placement: Placement.PLACEMENT_ANY,
        pinnedRunnerId: runnerId,
        labels: { app: "x", [PARENT_LABEL]: PARENT },
      });
      expect(stored.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    }
  });

  it("with no runner and no window the parent is FAILED NO_MATCHING_RUNNER at once", () => {
    const { parent, writes } = submitted(fanOutSpec(), []);
    expect(parent.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_FAILED, reason: TaskReason.NO_MATCHING_RUNNER });
    expect(writes.tasks).toHaveLength(1);
  });

  it("with no runner and a window the parent waits PENDING", () => {
    const { parent } = submitted(fanOutSpec({ fanOutWindow: { seconds: 60, nanos: 0 } }), []);
    expect(parent.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, reason: TaskReason.NO_MATCHING_RUNNER });
  });

  it("child ids are fixed by parent and runner, and sort with the parent's millisecond", () => {
    expect(fanOutChildId(PARENT, RUNNERS[0]!)).toBe(child(0));
    expect(child(0)).not.toBe(child(1));
    expect(child(0).slice(0, 13)).toBe(PARENT.slice(0, 13));
    expect(child(0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("fan-out aggregation", () => {
  it("counts each child's change in the same transaction and succeeds when all succeed", () => {
    const { committed } = submitted(fanOutSpec());
    const { view } = commitBatch(committed, [assignWrite(child(0), runId(child(0), 1), runner(RUNNERS[0]!), 10)], T0);
    // The assign and the parent's new count are one batch.
    expect(changesOf(view.writes).map((c) => c.id)).toEqual([child(0), PARENT]);
    expect(parentOf(committed).status!.fanOut).toMatchObject({ pending: 1, running: 1 });
    commitBatch(
      committed,
      [
        finishWrite(
          { runId: runId(child(0), 1), taskId: child(0), slot: "" },
          SUCCEEDED,
          { bytes: 0, truncated: false },
          OPTIONS,
        ),
      ],
      T0,
    );
    expect(parentOf(committed).status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    runChild(committed, 1, SUCCEEDED);
    expect(parentOf(committed).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_SUCCEEDED,
      fanOut: { children: 2, pending: 0, running: 0, succeeded: 2, failed: 0, canceled: 0 },
    });
  });

  it("a failed child fails the parent; max_failed 1 tolerates it", () => {
    const strict = submitted(fanOutSpec()).committed;
    runChild(strict, 0, FAILED);
    runChild(strict, 1, SUCCEEDED);
    expect(parentOf(strict).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_FAILED,
      reason: TaskReason.CHILDREN_FAILED,
    });
    const tolerant = submitted(fanOutSpec({ maxFailed: 1 })).committed;
    runChild(tolerant, 0, FAILED);
    runChild(tolerant, 1, SUCCEEDED);
    expect(parentOf(tolerant).status).toMatchObject({ phase: TaskPhase.TASK_PHASE_SUCCEEDED, fanOut: { failed: 1 } });
  });

  it("a canceled parent ends CANCELED once its children are canceled; they do not fail it", () => {
    const { committed } = submitted(fanOutSpec());
    runChild(committed, 0, SUCCEEDED);
    commitBatch(committed, [cancelWrite(PARENT, "stop")], T0 + 2_000);
    expect(parentOf(committed).status).toMatchObject({ phase: TaskPhase.TASK_PHASE_RUNNING, cancelRequested: true });
    commitBatch(committed, [cancelChildWrite(child(1))], T0 + 2_000);
    expect(committed.get(child(1))!.task.status!.reason).toBe(TaskReason.PARENT_CANCELED);
    expect(parentOf(committed).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_CANCELED,
      fanOut: { succeeded: 1, canceled: 1, failed: 0 },
    });
  });

  it("a parent whose children have all ended, canceled within its window, ends at once", () => {
    const { committed } = submitted(fanOutSpec({ fanOutWindow: { seconds: 60, nanos: 0 } }), [RUNNERS[0]!]);
    const c0 = fanOutChildId(PARENT, RUNNERS[0]!);
    commitBatch(committed, [assignWrite(c0, runId(c0, 1), runner(RUNNERS[0]!), 10)], T0);
    commitBatch(
      committed,
      [finishWrite({ runId: runId(c0, 1), taskId: c0, slot: "" }, SUCCEEDED, { bytes: 0, truncated: false }, OPTIONS)],
      T0,
    );
    expect(parentOf(committed).status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    commitBatch(committed, [cancelWrite(PARENT, "")], T0 + 1_000);
    expect(parentOf(committed).status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
  });
});

describe("fan-out window", () => {
  const WINDOW = { seconds: 60, nanos: 0 };

  it("a runner joining within the window gets one child, however often it is offered", () => {
    const { committed } = submitted(fanOutSpec({ fanOutWindow: WINDOW }), [RUNNERS[0]!]);
    const first = commitBatch(committed, [fanOutChildWrite(PARENT, RUNNERS[1]!)], T0 + 10_000);
    expect(accepted<Task>(first.outcomes[0]).id).toBe(child(1));
    const again = commitBatch(committed, [fanOutChildWrite(PARENT, RUNNERS[1]!)], T0 + 11_000);
    expect(again.outcomes[0]).toEqual({ ok: true, value: undefined });
    expect(again.view.writes.tasks).toEqual([]);
    expect(parentOf(committed).status!.fanOut).toMatchObject({ children: 2, pending: 2 });
  });

  it("after the window nobody joins, and the window's end ends an idle parent", () => {
    const { committed } = submitted(fanOutSpec({ fanOutWindow: WINDOW }), []);
    const late = commitBatch(committed, [fanOutChildWrite(PARENT, RUNNERS[0]!)], T0 + 60_000);
    expect(late.view.writes.tasks).toEqual([]);
    // Early: nothing to do yet.
    expect(commitBatch(committed, [fanOutWindowEndWrite(PARENT)], T0 + 59_000).view.writes.tasks).toEqual([]);
    commitBatch(committed, [fanOutWindowEndWrite(PARENT)], T0 + 60_000);
    expect(parentOf(committed).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_FAILED,
      reason: TaskReason.NO_MATCHING_RUNNER,
    });
  });

  it("the parent stays RUNNING after its children ended while the window is open, and ends at its end", () => {
    const { committed } = submitted(fanOutSpec({ fanOutWindow: WINDOW }), [RUNNERS[0]!]);
    const c0 = fanOutChildId(PARENT, RUNNERS[0]!);
    commitBatch(committed, [assignWrite(c0, runId(c0, 1), runner(RUNNERS[0]!), 10)], T0);
    commitBatch(
      committed,
      [finishWrite({ runId: runId(c0, 1), taskId: c0, slot: "" }, SUCCEEDED, { bytes: 0, truncated: false }, OPTIONS)],
      T0 + 1_000,
    );
    expect(parentOf(committed).status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    commitBatch(committed, [fanOutWindowEndWrite(PARENT)], T0 + 60_000);
    expect(parentOf(committed).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });

  it("a canceled parent takes no new child", () => {
    const { committed } = submitted(fanOutSpec({ fanOutWindow: WINDOW }), [RUNNERS[0]!]);
    commitBatch(committed, [cancelWrite(PARENT, "")], T0 + 1_000);
    const late = commitBatch(committed, [fanOutChildWrite(PARENT, RUNNERS[1]!)], T0 + 2_000);
    expect(late.view.writes.tasks).toEqual([]);
  });
});
