import {
  AdmissionPolicy,
  ErrorReason,
  EventType,
  type Task,
  TaskPhase,
  TaskReason,
  type TaskSpec,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { specHash } from "../../server/src/core/task-spec.js";
import { Code } from "../../server/src/errors.js";
import type { SubmitParams, SubmitSettings } from "../../server/src/store/decide/submit.js";
import { batchSubmitWrite, submitWrite } from "../../server/src/store/writes.js";
import {
  accepted,
  Committed,
  changesOf,
  DAY_MS,
  decideBatch,
  refused,
  runningStatus,
  specOf,
  T0,
  taskId,
  taskOf,
} from "../helpers/write-view.js";

const SETTINGS: SubmitSettings = { slotQueueLimit: 2, idempotencyTtlMs: DAY_MS };
const NOW = T0 + 60_000;
const { ADMISSION_POLICY_QUEUE: QUEUE, ADMISSION_POLICY_REPLACE: REPLACE } = AdmissionPolicy;

const params = (id: number, spec: TaskSpec, requestId = ""): SubmitParams => ({
  spec,
  requestId,
  specHash: specHash(spec),
  id: taskId(id),
});
const submit = (id: number, spec: TaskSpec, requestId = "") => submitWrite(params(id, spec, requestId), SETTINGS);

/** Committed state with a task that took `requestId` at `keyTimeMs`. */
function withKey(requestId: string, spec: TaskSpec, keyTimeMs = T0): { committed: Committed; original: Task } {
  const committed = new Committed();
  const original = committed.put({ ...taskOf(taskId(1), spec, "none"), requestId }, "none");
  committed.keys.set(requestId, { requestId, taskId: original.id, specHash: specHash(spec), createTimeMs: keyTimeMs });
  return { committed, original };
}

describe("decideSubmit: request_id idempotency", () => {
  it("the same request_id with the same spec answers with the original task and writes nothing", () => {
    const spec = specOf();
    const { committed, original } = withKey("req-1", spec);
    const { view, outcomes } = decideBatch(committed, [submit(2, spec, "req-1")], NOW);
    expect(accepted<Task>(outcomes[0])).toEqual(original);
    expect(view.writes.tasks).toEqual([]);
    expect(view.writes.idempotencyKeys).toEqual([]);
  });

  it("the same request_id with another spec is REQUEST_ID_REUSED and names the original task", () => {
    const { committed, original } = withKey("req-1", specOf());
    const { view, outcomes } = decideBatch(committed, [submit(2, specOf({ priority: 7 }), "req-1")], NOW);
    const error = refused(outcomes[0]);
    expect(error.code).toBe(Code.AlreadyExists);
    expect(error.reason).toBe(ErrorReason.REQUEST_ID_REUSED);
    expect(error.metadata).toEqual({ request_id: "req-1", task_id: original.id });
    expect(view.writes.tasks).toEqual([]);
  });

  it("a key exactly as old as the TTL still protects; one a millisecond older starts afresh", () => {
    const spec = specOf();
    const edge = withKey("req-1", spec, NOW - DAY_MS);
    expect(accepted<Task>(decideBatch(edge.committed, [submit(2, spec, "req-1")], NOW).outcomes[0]).id).toBe(
      edge.original.id,
    );

    const { committed } = withKey("req-1", spec, NOW - DAY_MS - 1);
    const { view, outcomes } = decideBatch(committed, [submit(2, spec, "req-1")], NOW);
    expect(accepted<Task>(outcomes[0]).id).toBe(taskId(2));
    expect(changesOf(view.writes)).toMatchObject([{ type: EventType.EVENT_TYPE_ADDED, id: taskId(2) }]);
    expect(view.writes.idempotencyKeys).toEqual([
      { requestId: "req-1", taskId: taskId(2), specHash: specHash(spec), createTimeMs: NOW },
    ]);
  });

  it("an expired key with another spec is no reuse: the submit starts afresh", () => {
    const { committed } = withKey("req-1", specOf(), NOW - DAY_MS - 1);
    const { outcomes } = decideBatch(committed, [submit(2, specOf({ priority: 7 }), "req-1")], NOW);
    expect(accepted<Task>(outcomes[0]).id).toBe(taskId(2));
  });

  it("a key whose task retention deleted starts afresh, after reading the task it names", () => {
    const spec = specOf();
    const committed = new Committed();
    committed.keys.set("req-1", { requestId: "req-1", taskId: taskId(1), specHash: specHash(spec), createTimeMs: T0 });
    const { view, outcomes, extraReads } = decideBatch(committed, [submit(2, spec, "req-1")], NOW);
    expect(extraReads).toEqual([{ tasks: [taskId(1)] }]);
    expect(accepted<Task>(outcomes[0]).id).toBe(taskId(2));
    expect(view.writes.idempotencyKeys.map((key) => key.taskId)).toEqual([taskId(2)]);
  });

  it("two submits with one request_id in one batch store one task and answer both with it", () => {
    const spec = specOf();
    const { view, outcomes } = decideBatch(new Committed(), [submit(1, spec, "req-1"), submit(2, spec, "req-1")], NOW);
    expect(accepted<Task>(outcomes[1])).toEqual(accepted<Task>(outcomes[0]));
    expect(changesOf(view.writes).map((c) => c.id)).toEqual([taskId(1)]);
    const other = decideBatch(
      new Committed(),
      [submit(1, spec, "req-1"), submit(2, specOf({ priority: 1 }), "req-1")],
      NOW,
    );
    expect(refused(other.outcomes[1]).metadata.task_id).toBe(taskId(1));
  });
});

/** Committed state with an owner of slot "s" (running or pending) and `queued` tasks waiting behind it. */
function slotWith(owner: "running" | "pending", queued = 0): Committed {
  const committed = new Committed();
  const status = owner === "running" ? runningStatus() : {};
  committed.put(taskOf(taskId(1), specOf({ slot: "s" }), "owner", status), "owner");
  for (let i = 0; i < queued; i++) {
    committed.put(taskOf(taskId(10 + i), specOf({ slot: "s", admission: QUEUE }), "queued"), "queued");
  }
  return committed;
}

describe("decideSubmit: admission", () => {
  it("a task without a slot is outside any slot and waits for a runner", () => {
    const { view, outcomes } = decideBatch(new Committed(), [submit(1, specOf())], NOW);
    expect(accepted<Task>(outcomes[0]).status!.reason).toBe(TaskReason.NO_MATCHING_RUNNER);
    expect(changesOf(view.writes)).toMatchObject([{ slotState: "none", revision: 1 }]);
  });

  it("the first task of a free slot owns it", () => {
    const { view } = decideBatch(new Committed(), [submit(1, specOf({ slot: "s" }))], NOW);
    expect(changesOf(view.writes)).toMatchObject([{ id: taskId(1), slotState: "owner" }]);
  });

  it("DROP_IF_RUNNING refuses a busy slot with SLOT_BUSY and the owner's id, storing nothing", () => {
    const committed = slotWith("running");
    const { view, outcomes } = decideBatch(committed, [submit(2, specOf({ slot: "s" }), "req-2")], NOW);
    const error = refused(outcomes[0]);
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.reason).toBe(ErrorReason.SLOT_BUSY);
    expect(error.metadata).toEqual({ slot: "s", owner_task_id: taskId(1) });
    expect(view.writes.tasks).toEqual([]);
    expect(view.writes.idempotencyKeys).toEqual([]);
  });

  it("QUEUE waits behind the owner up to the limit, then SLOT_QUEUE_FULL", () => {
    const committed = slotWith("running", 1);
    const queue = specOf({ slot: "s", admission: QUEUE });
    const { view, outcomes } = decideBatch(committed, [submit(2, queue), submit(3, queue)], NOW);
    const task = accepted<Task>(outcomes[0]);
    expect(task.status).toMatchObject({ phase: TaskPhase.TASK_PHASE_PENDING, reason: TaskReason.SLOT_QUEUED });
    expect(changesOf(view.writes)).toMatchObject([{ id: taskId(2), slotState: "queued" }]);
    const error = refused(outcomes[1]);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.reason).toBe(ErrorReason.SLOT_QUEUE_FULL);
    expect(error.metadata).toEqual({ slot: "s", limit: "2" });
  });

  it("QUEUE into a free slot owns it", () => {
    const { view } = decideBatch(new Committed(), [submit(1, specOf({ slot: "s", admission: QUEUE }))], NOW);
    expect(changesOf(view.writes)).toMatchObject([{ slotState: "owner" }]);
  });

  it("REPLACE of a pending owner cancels it and takes the slot; its queue keeps waiting", () => {
    const committed = slotWith("pending", 1);
    const head = committed.head;
    const { view, outcomes } = decideBatch(committed, [submit(2, specOf({ slot: "s", admission: REPLACE }))], NOW);
    expect(accepted<Task>(outcomes[0]).id).toBe(taskId(2));
    expect(changesOf(view.writes)).toEqual([
      {
        type: EventType.EVENT_TYPE_MODIFIED,
        id: taskId(1),
        revision: head + 1,
        phase: TaskPhase.TASK_PHASE_CANCELED,
        slotState: "none",
      },
      {
        type: EventType.EVENT_TYPE_ADDED,
        id: taskId(2),
        revision: head + 2,
        phase: TaskPhase.TASK_PHASE_PENDING,
        slotState: "owner",
      },
    ]);
    expect(view.writes.tasks[0]!.change.task.status).toMatchObject({
      reason: TaskReason.REPLACED,
      message: `replaced by task ${taskId(2)}`,
      finishTime: new Date(NOW),
    });
    expect(view.slotQueue("s")).toMatchObject({ count: 1, oldest: { task: { id: taskId(10) } } });
  });

  it("REPLACE of a running owner asks it to stop and hands the slot on at once", () => {
    const committed = slotWith("running");
    const { view, outcomes } = decideBatch(
      committed,
      [submit(2, specOf({ slot: "s", admission: REPLACE })), submit(3, specOf({ slot: "s" }))],
      NOW,
    );
    const [stopped, added] = view.writes.tasks;
    expect(stopped!.slotState).toBe("none");
    expect(stopped!.change.task.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_RUNNING,
      cancelRequested: true,
      reason: TaskReason.REPLACED,
    });
    expect(added!.slotState).toBe("owner");
    expect(refused(outcomes[1]).metadata.owner_task_id).toBe(taskId(2));
  });

  it("two submits to one slot in one batch see each other", () => {
    const { view, outcomes } = decideBatch(
      new Committed(),
      [
        submit(1, specOf({ slot: "s" })),
        submit(2, specOf({ slot: "s" })),
        submit(3, specOf({ slot: "s", admission: QUEUE })),
      ],
      NOW,
    );
    expect(refused(outcomes[1]).metadata.owner_task_id).toBe(taskId(1));
    expect(changesOf(view.writes)).toMatchObject([
      { id: taskId(1), slotState: "owner", revision: 1 },
      { id: taskId(3), slotState: "queued", revision: 2 },
    ]);
  });

  it("a refused request drops exactly its own changes and revisions", () => {
    const committed = slotWith("pending");
    const head = committed.head;
    // All or nothing: the REPLACE is decided (the owner canceled, a new owner added), then the second submit of
    // the same request is refused — and the owner, the slot and the revisions are as if the request never came.
    const refusedBatch = batchSubmitWrite(
      [params(2, specOf({ slot: "s", admission: REPLACE }), "req-2"), params(3, specOf({ slot: "s" }), "req-3")],
      SETTINGS,
    );
    const { view, outcomes } = decideBatch(
      committed,
      [submit(4, specOf()), refusedBatch, submit(5, specOf({ slot: "s" })), submit(6, specOf(), "req-2")],
      NOW,
    );
    const error = refused(outcomes[1]);
    expect(error.reason).toBe(ErrorReason.SLOT_BUSY);
    expect(error.metadata).toMatchObject({ owner_task_id: taskId(2), request_index: "1" });
    expect(refused(outcomes[2]).metadata.owner_task_id).toBe(taskId(1));
    expect(changesOf(view.writes)).toMatchObject([
      { id: taskId(4), revision: head + 1 },
      { id: taskId(6), revision: head + 2 },
    ]);
    expect(view.writes.idempotencyKeys.map((key) => [key.requestId, key.taskId])).toEqual([["req-2", taskId(6)]]);
    expect(view.slotOwner("s")!.task).toMatchObject({ id: taskId(1), status: { phase: TaskPhase.TASK_PHASE_PENDING } });
  });
});
