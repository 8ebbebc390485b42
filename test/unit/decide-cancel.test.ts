import { AdmissionPolicy, ErrorReason, type Task, TaskPhase, TaskReason } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import type { SlotState } from "../../server/src/core/task-lifecycle.js";
import { specHash } from "../../server/src/core/task-spec.js";
import { Code } from "../../server/src/errors.js";
import { cancelIfActiveWrite, cancelWrite, submitWrite } from "../../server/src/store/writes.js";
import {
  accepted,
  Committed,
  changesOf,
  decideBatch,
  refused,
  runningStatus,
  specOf,
  T0,
  taskId,
  taskOf,
} from "../helpers/write-view.js";

const NOW = T0 + 60_000;
const OWNER = taskId(1);
const QUEUED = [taskId(10), taskId(11)];
const QUEUE_SPEC = specOf({ slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE });

/** Slot "s" with an owner (`ownerStatus` over a pending one) and two tasks queued behind it. */
function slot(ownerStatus: Partial<Task["status"]> = {}): Committed {
  const committed = new Committed();
  committed.put(taskOf(OWNER, specOf({ slot: "s" }), "owner", ownerStatus), "owner");
  for (const id of QUEUED) committed.put(taskOf(id, QUEUE_SPEC, "queued"), "queued");
  return committed;
}

const cancel = (committed: Committed, id: string, message = "") =>
  decideBatch(committed, [cancelWrite(id, message)], NOW);

describe("decideCancel", () => {
  it("a pending owner is CANCELED at once and its slot passes to the oldest queued task", () => {
    const committed = slot();
    const { view, outcomes, extraReads } = cancel(committed, OWNER, "not needed");
    expect(accepted<Task>(outcomes[0]).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_CANCELED,
      reason: TaskReason.CANCELED_BY_CLIENT,
      message: "not needed",
      finishTime: new Date(NOW),
    });
    // A cancel reads only its task; handing the slot on reads the slot's owner and queue in the same transaction.
    expect(extraReads).toEqual([{ slotOwners: ["s"] }, { slotQueues: ["s"] }]);
    expect(changesOf(view.writes)).toMatchObject([
      { id: OWNER, phase: TaskPhase.TASK_PHASE_CANCELED, slotState: "none", revision: committed.head + 1 },
      { id: QUEUED[0], phase: TaskPhase.TASK_PHASE_PENDING, slotState: "owner", revision: committed.head + 2 },
    ]);
    expect(view.writes.tasks[1]!.change.task.status!.reason).toBe(TaskReason.NO_MATCHING_RUNNER);
  });

  it("without a message the reason says the client canceled it", () => {
    const { outcomes } = cancel(slot(), QUEUED[1]!);
    expect(accepted<Task>(outcomes[0]).status!.message).toBe("canceled by client");
  });

  it("a queued task is CANCELED and leaves its queue; the owner keeps the slot", () => {
    const { view, extraReads } = cancel(slot(), QUEUED[0]!);
    expect(changesOf(view.writes)).toMatchObject([
      { id: QUEUED[0], phase: TaskPhase.TASK_PHASE_CANCELED, slotState: "none" },
    ]);
    expect(extraReads).toEqual([]);
    view.extend(slot().read({ slotOwners: ["s"], slotQueues: ["s"] }));
    expect(view.slotOwner("s")!.task.id).toBe(OWNER);
    expect(view.slotQueue("s")).toMatchObject({ count: 1, oldest: { task: { id: QUEUED[1] } } });
  });

  it("a running owner gets cancel_requested, stays RUNNING and keeps its slot until its run ends", () => {
    const committed = slot(runningStatus());
    const spec = specOf({ slot: "s" });
    const later = submitWrite(
      { spec, requestId: "", specHash: specHash(spec), id: taskId(20) },
      { slotQueueLimit: 5, idempotencyTtlMs: 1 },
    );
    const { view, outcomes } = decideBatch(committed, [cancelWrite(OWNER, "stop"), later], NOW);
    expect(accepted<Task>(outcomes[0]).status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_RUNNING,
      cancelRequested: true,
      reason: TaskReason.CANCELED_BY_CLIENT,
      message: "stop",
    });
    expect(changesOf(view.writes)).toMatchObject([{ id: OWNER, slotState: "owner" }]);
    expect(refused(outcomes[1]).metadata.owner_task_id).toBe(OWNER);
  });

  it("a running task asked to stop once, or CANCELED already, is answered as it is", () => {
    for (const ownerStatus of [
      { ...runningStatus(), cancelRequested: true },
      { phase: TaskPhase.TASK_PHASE_CANCELED, finishTime: new Date(T0) },
    ]) {
      const committed = slot(ownerStatus);
      const { view, outcomes } = cancel(committed, OWNER);
      expect(accepted<Task>(outcomes[0])).toEqual(committed.get(OWNER)!.task);
      expect(view.writes.tasks).toEqual([]);
    }
  });

  it.each([
    [TaskPhase.TASK_PHASE_SUCCEEDED, "TASK_PHASE_SUCCEEDED"],
    [TaskPhase.TASK_PHASE_FAILED, "TASK_PHASE_FAILED"],
    [TaskPhase.TASK_PHASE_TIMEOUT, "TASK_PHASE_TIMEOUT"],
    [TaskPhase.TASK_PHASE_EXHAUSTED, "TASK_PHASE_EXHAUSTED"],
  ])("a task that ended otherwise (%s) is TASK_TERMINAL", (phase, name) => {
    const committed = new Committed();
    const slotState: SlotState = "none";
    committed.put(taskOf(OWNER, specOf(), slotState, { phase, finishTime: new Date(T0) }), slotState);
    const { view, outcomes } = cancel(committed, OWNER);
    const error = refused(outcomes[0]);
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.reason).toBe(ErrorReason.TASK_TERMINAL);
    expect(error.metadata).toEqual({ task_id: OWNER, phase: name });
    expect(view.writes.tasks).toEqual([]);
  });

  it("an unknown task is TASK_NOT_FOUND", () => {
    const error = refused(cancel(new Committed(), taskId(99)).outcomes[0]);
    expect(error.code).toBe(Code.NotFound);
    expect(error.reason).toBe(ErrorReason.TASK_NOT_FOUND);
    expect(error.metadata).toEqual({ task_id: taskId(99) });
  });
});

describe("cancelIfActiveWrite (one task of a CancelTasks)", () => {
  it("cancels an active task as CancelTask does: true", () => {
    const { view, outcomes } = decideBatch(slot(), [cancelIfActiveWrite(OWNER, "bulk")], NOW);
    expect(accepted<boolean>(outcomes[0])).toBe(true);
    expect(changesOf(view.writes)).toMatchObject([
      { id: OWNER, phase: TaskPhase.TASK_PHASE_CANCELED },
      { id: QUEUED[0], phase: TaskPhase.TASK_PHASE_PENDING, slotState: "owner" },
    ]);
  });

  it("a slot's owner and its queue in one batch: each queued task is canceled after its promotion", () => {
    const writes = [OWNER, ...QUEUED].map((id) => cancelIfActiveWrite(id, "bulk"));
    const { view, outcomes } = decideBatch(slot(), writes, NOW);
    expect(outcomes.map((outcome) => accepted<boolean>(outcome))).toEqual([true, true, true]);
    for (const id of [OWNER, ...QUEUED]) expect(view.task(id)!.task.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    expect(view.slotOwner("s")).toBeUndefined();
  });

  it("a task that ended (or is gone) since it was listed is skipped, not refused: false, nothing written", () => {
    const committed = new Committed();
    committed.put(
      taskOf(OWNER, specOf(), "none", { phase: TaskPhase.TASK_PHASE_SUCCEEDED, finishTime: new Date(T0) }),
      "none",
    );
    const { view, outcomes } = decideBatch(
      committed,
      [cancelIfActiveWrite(OWNER, ""), cancelIfActiveWrite(taskId(99), "")],
      NOW,
    );
    expect(outcomes.map((outcome) => accepted<boolean>(outcome))).toEqual([false, false]);
    expect(view.writes.tasks).toEqual([]);
  });
});
