import { type Task, TaskPhase } from "@supervisor/sdk";
import { expect, it } from "vitest";
import { emptyWriteSet, type ReadKeys, type StorageBackend } from "../../server/src/store/backend.js";
import {
  decide,
  encodingOf,
  makeRun,
  makeRunner,
  makeTask,
  type OpenBackend,
  taskId,
  updateTasks,
  useBackend,
  withStatus,
} from "./fixtures.js";

const DEPLOY = "deploy";
const BUILD = "build";

/** Slot deploy: task 1 owns it, 2..4 wait; slot build: task 5 finished with it. A key, a run, a runner. */
async function seed(backend: StorageBackend): Promise<Task[]> {
  return decide(backend, (view) => {
    const tasks = [
      view.insertTask(makeTask(1, { slot: DEPLOY }), "owner"),
      view.insertTask(makeTask(2, { slot: DEPLOY }), "queued"),
      view.insertTask(makeTask(3, { slot: DEPLOY }), "queued"),
      view.insertTask(makeTask(4, { slot: DEPLOY }), "queued"),
      view.insertTask(makeTask(5, { slot: BUILD, phase: TaskPhase.TASK_PHASE_SUCCEEDED }), "none"),
    ];
    view.putIdempotencyKey({ requestId: "req-a", taskId: taskId(1), specHash: "hash-a", createTimeMs: 1000 });
    view.putRun(makeRun(tasks[0]!, 1, 1));
    view.putRunner(makeRunner(1, "alpha"));
    return tasks;
  });
}

/** One transaction that only reads. */
const read = (backend: StorageBackend, keys: ReadKeys) =>
  backend.transact(async (tx) => ({ writes: emptyWriteSet(), result: await tx.read(keys) }));

const ids = (stored: readonly { task: Task }[]) => stored.map(({ task }) => task.id);

export function snapshotReadTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  it("tasks: each id asked maps to its stored task (decoded, slot state, bytes), a missing one to null", async () => {
    const { backend } = fresh;
    const [owner] = await seed(backend);
    const snapshot = await read(backend, { tasks: [taskId(1), taskId(99)] });
    expect(snapshot.tasks.size).toBe(2);
    const found = snapshot.tasks.get(taskId(1))!;
    expect(found.task).toEqual(owner);
    expect(found.slotState).toBe("owner");
    expect(Buffer.from(found.encoded)).toEqual(encodingOf(owner!));
    expect(snapshot.tasks.get(taskId(99))).toBeNull();
  });

  it("slotOwners: the owner of each slot asked, null for a slot nobody owns", async () => {
    const { backend } = fresh;
    await seed(backend);
    const snapshot = await read(backend, { slotOwners: [DEPLOY, BUILD, "unknown"] });
    expect(snapshot.slotOwners.get(DEPLOY)?.task.id).toBe(taskId(1));
    expect(snapshot.slotOwners.get(DEPLOY)?.slotState).toBe("owner");
    expect(snapshot.slotOwners.get(BUILD)).toBeNull();
    expect(snapshot.slotOwners.get("unknown")).toBeNull();
  });

  it("slotQueues: how many wait and the oldest two, oldest first; slotQueueDepth reads more", async () => {
    const { backend } = fresh;
    await seed(backend);
    const queues = (await read(backend, { slotQueues: [DEPLOY, BUILD] })).slotQueues;
    expect(queues.get(DEPLOY)!.count).toBe(3);
    expect(ids(queues.get(DEPLOY)!.oldest)).toEqual([taskId(2), taskId(3)]);
    for (const waiting of queues.get(DEPLOY)!.oldest) expect(waiting.slotState).toBe("queued");
    expect(queues.get(BUILD)).toEqual({ count: 0, oldest: [] });

    const deeper = (await read(backend, { slotQueues: [DEPLOY], slotQueueDepth: 3 })).slotQueues.get(DEPLOY)!;
    expect(deeper.count).toBe(3);
    expect(ids(deeper.oldest)).toEqual([taskId(2), taskId(3), taskId(4)]);
    const beyond = (await read(backend, { slotQueues: [DEPLOY], slotQueueDepth: 10 })).slotQueues.get(DEPLOY)!;
    expect(ids(beyond.oldest)).toEqual([taskId(2), taskId(3), taskId(4)]);
  });

  it("idempotencyKeys, runs and runnerNames: each found one, or null", async () => {
    const { backend } = fresh;
    const [owner] = await seed(backend);
    const snapshot = await read(backend, {
      idempotencyKeys: ["req-a", "req-b"],
      runs: [makeRun(owner!, 1, 1).id, makeRun(owner!, 1, 2).id],
      runnerNames: ["alpha", "beta"],
    });
    expect(snapshot.idempotencyKeys.get("req-a")).toEqual({
      requestId: "req-a",
      taskId: taskId(1),
      specHash: "hash-a",
      createTimeMs: 1000,
    });
    expect(snapshot.idempotencyKeys.get("req-b")).toBeNull();
    expect(snapshot.runs.get(makeRun(owner!, 1, 1).id)).toEqual(makeRun(owner!, 1, 1));
    expect(snapshot.runs.get(makeRun(owner!, 1, 2).id)).toBeNull();
    expect(snapshot.runnerNames.get("alpha")).toEqual(makeRunner(1, "alpha"));
    expect(snapshot.runnerNames.get("beta")).toBeNull();
  });

  it("a snapshot holds only what was asked: a key not asked is absent, not null", async () => {
    const { backend } = fresh;
    await seed(backend);
    const snapshot = await read(backend, { tasks: [taskId(1), taskId(1)] });
    expect([...snapshot.tasks.keys()]).toEqual([taskId(1)]);
    for (const other of [snapshot.slotOwners, snapshot.slotQueues, snapshot.idempotencyKeys, snapshot.runs]) {
      expect(other.size).toBe(0);
    }
    expect(snapshot.runnerNames.size).toBe(0);
    const nothing = await read(backend, {});
    expect(Object.values(nothing).map((map) => map.size)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("several reads in one transaction each answer what they ask", async () => {
    const { backend } = fresh;
    const [owner] = await seed(backend);
    const answers = await backend.transact(async (tx) => {
      const first = await tx.read({ tasks: [taskId(2)] });
      const second = await tx.read({ runs: [makeRun(owner!, 1, 1).id], slotOwners: [DEPLOY] });
      const third = await tx.read({ slotQueues: [DEPLOY], slotQueueDepth: 1, tasks: [taskId(5)] });
      return { writes: emptyWriteSet(), result: [first, second, third] };
    });
    const [first, second, third] = answers;
    expect(first!.tasks.get(taskId(2))?.slotState).toBe("queued");
    expect(second!.runs.get(makeRun(owner!, 1, 1).id)?.attempt).toBe(1);
    expect(second!.slotOwners.get(DEPLOY)?.task.id).toBe(taskId(1));
    expect(third!.slotQueues.get(DEPLOY)!.count).toBe(3);
    expect(ids(third!.slotQueues.get(DEPLOY)!.oldest)).toEqual([taskId(2)]);
    expect(third!.tasks.get(taskId(5))?.slotState).toBe("none");
  });

  it("a transaction's reads see every commit before it (a promotion moves the owner and the queue)", async () => {
    const { backend } = fresh;
    const [owner, next] = await seed(backend);
    await updateTasks(backend, [
      { task: withStatus(owner!, TaskPhase.TASK_PHASE_SUCCEEDED), slotState: "none" },
      { task: next!, slotState: "owner" },
    ]);
    const snapshot = await read(backend, { slotOwners: [DEPLOY], slotQueues: [DEPLOY], tasks: [taskId(1)] });
    expect(snapshot.slotOwners.get(DEPLOY)?.task.id).toBe(taskId(2));
    expect(snapshot.slotQueues.get(DEPLOY)!.count).toBe(2);
    expect(ids(snapshot.slotQueues.get(DEPLOY)!.oldest)).toEqual([taskId(3), taskId(4)]);
    expect(snapshot.tasks.get(taskId(1))?.slotState).toBe("none");
    expect(snapshot.tasks.get(taskId(1))!.task.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
  });
}
