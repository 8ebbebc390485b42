import { AdmissionPolicy, RunPhase, type Task, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { specHash } from "../../server/src/core/task-spec.js";
import { NeedsRead, WriteView } from "../../server/src/store/decide/view.js";
import type { WriteRequest } from "../../server/src/store/group-commit.js";
import { cancelWrite, finishWrite, submitWrite } from "../../server/src/store/writes.js";
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
const QUEUED_SPEC = specOf({ slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE });
const OWNER = taskId(1);
const queuedId = (i: number) => taskId(10 + i);

/** Slot "s": a running owner (with its run) and `queued` tasks behind it, oldest first. */
function slotWithQueue(queued: number): Committed {
  const committed = new Committed();
  committed.put(taskOf(OWNER, specOf({ slot: "s" }), "owner", runningStatus()), "owner");
  committed.runs.set(runId(OWNER, 1), runOf(OWNER, 1));
  for (let i = 0; i < queued; i++) committed.put(taskOf(queuedId(i), QUEUED_SPEC, "queued"), "queued");
  return committed;
}

const finishOwner = () =>
  finishWrite(
    { runId: runId(OWNER, 1), taskId: OWNER, slot: "s" },
    { phase: RunPhase.RUN_PHASE_SUCCEEDED, exitCode: 0 },
    { bytes: 0, truncated: false },
    { random: () => 0.5 },
  );
const queueSubmit = (id: string) =>
  submitWrite(
    { spec: QUEUED_SPEC, requestId: "", specHash: specHash(QUEUED_SPEC), id },
    { slotQueueLimit: 100, idempotencyTtlMs: 1 },
  );
const queueOf = (view: WriteView) => {
  const { count, oldest } = view.slotQueue("s");
  return { count, oldest: oldest?.task.id };
};

describe("WriteView.slotQueue within a batch", () => {
  it("the oldest queued task takes a freed slot; the next is read deeper only once the read ones are gone", () => {
    const committed = slotWithQueue(4);
    const { view, outcomes, extraReads } = decideBatch(
      committed,
      [finishOwner(), cancelWrite(queuedId(0), ""), cancelWrite(queuedId(1), "")],
      NOW,
    );
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    // Promoting the first and the second needed no read: both were among the oldest read.
    // The third is not, and the queue still holds two unread tasks: that asks for a deeper read.
    expect(extraReads).toEqual([{ slotQueues: ["s"], slotQueueDepth: 4 }]);
    expect(changesOf(view.writes).map(({ id, phase, slotState }) => [id, phase, slotState])).toEqual([
      [OWNER, TaskPhase.TASK_PHASE_SUCCEEDED, "none"],
      [queuedId(0), TaskPhase.TASK_PHASE_PENDING, "owner"],
      [queuedId(0), TaskPhase.TASK_PHASE_CANCELED, "none"],
      [queuedId(1), TaskPhase.TASK_PHASE_PENDING, "owner"],
      [queuedId(1), TaskPhase.TASK_PHASE_CANCELED, "none"],
      [queuedId(2), TaskPhase.TASK_PHASE_PENDING, "owner"],
    ]);
    expect(queueOf(view)).toEqual({ count: 1, oldest: queuedId(3) });
    expect(view.slotOwner("s")!.task.id).toBe(queuedId(2));
  });

  it("a queue read whole needs no deeper read when its tasks are gone: empty, or the batch's own", () => {
    const committed = slotWithQueue(2);
    const { view, extraReads } = decideBatch(
      committed,
      [cancelWrite(queuedId(0), ""), cancelWrite(queuedId(1), "")],
      NOW,
    );
    // What the batch read had a request of it asked for the slot (nothing committed since).
    view.extend(committed.read({ slotOwners: ["s"], slotQueues: ["s"] }));
    expect(queueOf(view)).toEqual({ count: 0, oldest: undefined });
    view.begin();
    queueSubmit(taskId(20)).decide(view, NOW);
    view.commit();
    expect(queueOf(view)).toEqual({ count: 1, oldest: taskId(20) });
    expect(extraReads).toEqual([]);
  });

  it("unread stored tasks come before the batch's own: with every read one gone, it reads deeper", () => {
    const committed = slotWithQueue(3);
    const { view } = decideBatch(
      committed,
      [queueSubmit(taskId(20)), cancelWrite(queuedId(0), ""), cancelWrite(queuedId(1), "")],
      NOW,
    );
    let asked: NeedsRead | undefined;
    try {
      view.slotQueue("s");
    } catch (error) {
      asked = error as NeedsRead;
    }
    expect(asked).toBeInstanceOf(NeedsRead);
    expect(asked!.keys).toEqual({ slotQueues: ["s"], slotQueueDepth: 4 });
    view.extend(committed.read(asked!.keys));
    expect(queueOf(view)).toEqual({ count: 2, oldest: queuedId(2) });
  });

  it("an owner that ends with nobody queued leaves the slot free", () => {
    const { view, extraReads } = decideBatch(slotWithQueue(0), [finishOwner()], NOW);
    expect(view.slotOwner("s")).toBeUndefined();
    expect(changesOf(view.writes).map((c) => c.id)).toEqual([OWNER]);
    expect(extraReads).toEqual([]);
  });

  it("counts the batch's queued submits, and one left of those read is the oldest without a deeper read", () => {
    const committed = slotWithQueue(3);
    const { view, extraReads } = decideBatch(
      committed,
      [queueSubmit(taskId(20)), queueSubmit(taskId(21)), cancelWrite(queuedId(0), "")],
      NOW,
    );
    expect(queueOf(view)).toEqual({ count: 4, oldest: queuedId(1) });
    expect(extraReads).toEqual([]);
  });

  it("a stored queued task read by id (not among the oldest read) and canceled leaves the count", () => {
    const committed = slotWithQueue(4);
    const { view } = decideBatch(committed, [cancelWrite(queuedId(3), "")], NOW);
    view.extend(committed.read({ slotQueues: ["s"] }));
    expect(queueOf(view)).toEqual({ count: 3, oldest: queuedId(0) });
  });

  it("a task the batch queued and canceled again never counted", () => {
    const committed = slotWithQueue(1);
    const { view } = decideBatch(committed, [queueSubmit(taskId(20)), cancelWrite(taskId(20), "")], NOW);
    expect(queueOf(view)).toEqual({ count: 1, oldest: queuedId(0) });
  });

  it("a queued task changed in the batch but still queued still counts, and stays the oldest", () => {
    for (const queued of [1, 2]) {
      const committed = slotWithQueue(queued);
      const view = new WriteView(committed.read({ slotQueues: ["s"], tasks: [queuedId(0)] }), committed.head + 1);
      const first = view.task(queuedId(0))!.task;
      view.begin();
      view.updateTask({ ...first, status: { ...first.status!, message: "still waiting" } }, first, "queued");
      view.commit();
      const { count, oldest } = view.slotQueue("s");
      expect({ count, oldest: oldest?.task.id }).toEqual({ count: queued, oldest: queuedId(0) });
      expect(oldest!.task.status!.message).toBe("still waiting");
    }
  });
});

describe("WriteView reads it does not have", () => {
  const cases: [string, (view: WriteView) => unknown, object][] = [
    ["a task", (view) => view.task(OWNER), { tasks: [OWNER] }],
    ["a slot's owner", (view) => view.slotOwner("s"), { slotOwners: ["s"] }],
    ["a slot's queue", (view) => view.slotQueue("s"), { slotQueues: ["s"] }],
    ["an idempotency key", (view) => view.idempotencyKey("req"), { idempotencyKeys: ["req"] }],
    ["a run", (view) => view.run("run"), { runs: ["run"] }],
    ["a runner by name", (view) => view.runnerByName("one"), { runnerNames: ["one"] }],
  ];
  it.each(cases)("%s unread throws NeedsRead naming it; read as missing it is undefined", (_, ask, keys) => {
    const committed = new Committed();
    const view = new WriteView(committed.read({}), 1);
    expect(() => ask(view)).toThrow(NeedsRead);
    try {
      ask(view);
    } catch (error) {
      expect((error as NeedsRead).keys).toEqual(keys);
    }
    view.extend(committed.read(keys));
    const found = ask(view);
    expect(found === undefined || (found as { count: number }).count === 0).toBe(true);
  });
});

describe("WriteView request boundaries", () => {
  it("rollback drops the request's writes, overlay and revisions; commit keeps them", () => {
    const committed = slotWithQueue(1);
    const head = committed.head;
    const view = new WriteView(committed.read({ tasks: [OWNER], slotOwners: ["s"], slotQueues: ["s"] }), head + 1);
    const owner = view.task(OWNER)!.task;
    view.begin();
    view.updateTask({ ...owner, status: { ...owner.status!, phase: TaskPhase.TASK_PHASE_FAILED } }, owner, "none");
    view.insertTask(taskOf(taskId(30), specOf({ slot: "s" }), "owner"), "owner");
    view.putIdempotencyKey({ requestId: "req", taskId: taskId(30), specHash: "h", createTimeMs: NOW });
    view.putRun(runOf(taskId(30), 1));
    expect(view.slotOwner("s")!.task.id).toBe(taskId(30));
    view.rollback();
    expect(view.writes.tasks).toEqual([]);
    expect(view.writes.runs).toEqual([]);
    expect(view.writes.idempotencyKeys).toEqual([]);
    expect(view.slotOwner("s")!.task.id).toBe(OWNER);
    expect(view.task(OWNER)!.task.status!.phase).toBe(TaskPhase.TASK_PHASE_RUNNING);
    expect(() => view.idempotencyKey("req")).toThrow(NeedsRead);

    view.begin();
    const kept = view.insertTask(taskOf(taskId(31), specOf(), "none"), "none");
    view.commit();
    view.begin();
    view.insertTask(taskOf(taskId(32), specOf(), "none"), "none");
    view.rollback();
    expect(kept.revision).toBe(head + 1);
    expect(changesOf(view.writes).map((c) => [c.id, c.revision])).toEqual([[taskId(31), head + 1]]);
  });

  it("batches committed one after another give revisions on from the head, gap-free", () => {
    const committed = new Committed();
    const spec = specOf({ slot: "s" });
    const submit = (n: number) =>
      submitWrite(
        { spec, requestId: "", specHash: specHash(spec), id: taskId(n) },
        { slotQueueLimit: 1, idempotencyTtlMs: 1 },
      );
    const requests: WriteRequest<unknown>[] = [submit(1), submit(2), submit(3)];
    commitBatch(committed, requests, NOW);
    const second = commitBatch(committed, [cancelWrite(taskId(1), ""), submit(4)], NOW);
    expect(accepted<Task>(second.outcomes[1]).revision).toBe(3);
    expect(committed.head).toBe(3);
  });
});
