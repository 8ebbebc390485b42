import { RunOutcome, RunPhase, TaskPhase } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { storeUnavailable } from "../server/src/errors.js";
import type { StorageBackend } from "../server/src/store/backend.js";
import { EngineHarness } from "./helpers/engine.js";

/** The dispatcher's pause after a failed assign (dispatcher.ts ASSIGN_RETRY_MS). */
const ASSIGN_RETRY_MS = 1_000;

/**
 * The backend, except for its first transaction that stores a run (an assign): `commitFirst` lets it commit and
 * then answers STORE_UNAVAILABLE, as PostgreSQL stopping between the COMMIT and its answer does; otherwise it fails
 * before anything is written, as a refused connection does.
 */
function failingTheFirstAssign(commitFirst: boolean) {
  return (backend: StorageBackend): StorageBackend => {
    let failed = false;
    const transact: StorageBackend["transact"] = async (work) => {
      let storesARun = false;
      const watched: typeof work = async (tx) => {
        const plan = await work(tx);
        storesARun = plan.writes.runs.length > 0;
        if (storesARun && !failed && !commitFirst) {
          failed = true;
          throw storeUnavailable("ECONNREFUSED");
        }
        return plan;
      };
      const result = await backend.transact(watched);
      if (storesARun && !failed && commitFirst) {
        failed = true;
        throw storeUnavailable("postgres connection lost");
      }
      return result;
    };
    return new Proxy(backend, { get: (target, key) => (key === "transact" ? transact : Reflect.get(target, key)) });
  };
}

let harness: EngineHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

// Backend-neutral (the engine on its SQLite harness, in both projects): the store's answer is what is faked.
describe("an assign whose commit fails", () => {
  it("stored all the same (the answer was lost): the same run is sent, and the task ends by it", async () => {
    const h = (harness = await EngineHarness.start({}, undefined, undefined, failingTheFirstAssign(true)));
    const runner = await h.connect("unlucky"); // first: its hello's commit is then not in the assign's batch
    const task = await h.submit();
    const assign = await h.nextAssign(runner);
    expect(assign.taskId).toBe(task.id);
    expect((await h.run(assign.runId)).phase).toBe(RunPhase.RUN_PHASE_ASSIGNED); // the run the store holds
    runner.started(assign.runId);
    runner.finished(assign.runId, RunOutcome.RUN_OUTCOME_SUCCEEDED);
    const done = await h.until(async () => {
      const now = await h.task(task.id);
      return now.status!.phase === TaskPhase.TASK_PHASE_SUCCEEDED ? now : undefined;
    }, "the task to end");
    expect(done.status).toMatchObject({ attempt: 1, runnerId: runner.session!.id });
    expect(runner.assigns).toHaveLength(1);
  });

  it("not stored: the task stays pending and is assigned again, on a new run, after the pause", async () => {
    const h = (harness = await EngineHarness.start({}, undefined, undefined, failingTheFirstAssign(false)));
    const runner = await h.connect("unlucky"); // first: its hello's commit is then not in the assign's batch
    const task = await h.submit();
    await h.clock.advanceAsync(ASSIGN_RETRY_MS - 1);
    expect(runner.assigns).toHaveLength(0);
    expect((await h.task(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await h.clock.advanceAsync(1);
    const assign = await h.nextAssign(runner);
    expect(assign).toMatchObject({ taskId: task.id, attempt: 1 });
    expect((await h.run(assign.runId)).phase).toBe(RunPhase.RUN_PHASE_ASSIGNED);
  });
});
