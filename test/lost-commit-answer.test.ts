import { ErrorReason, RunOutcome, RunPhase, TaskPhase } from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { EngineHarness } from "./helpers/engine.js";

/** The dispatcher's pause after a failed assign (dispatcher.ts ASSIGN_RETRY_MS). */
const ASSIGN_RETRY_MS = 1_000;

let harness: EngineHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The first batch that stores a run (an assign) hears STORE_UNAVAILABLE, committed or not. */
async function failingTheFirstAssign(outcome: "committed" | "refused"): Promise<EngineHarness> {
  const h = await EngineHarness.start();
  let failed = false;
  h.storeUnavailable = (writes) => {
    if (failed || writes.runs.length === 0) return undefined;
    failed = true;
    return outcome;
  };
  return h;
}

// Backend-neutral (the engine on its SQLite harness): the store's answer is what is faked. On PostgreSQL a
// commit can succeed while its answer is lost (the server stopped between COMMIT and the reply).
describe("an assign whose commit fails with the store unavailable", () => {
  it("stored all the same (the answer was lost): the same run is sent, and the task ends by it", async () => {
    const h = (harness = await failingTheFirstAssign("committed"));
    // The task first: were the runner there, its submit would commit with its assign (and fail with it).
    const task = await h.submit();
    const runner = await h.connect("unlucky");
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
    const h = (harness = await failingTheFirstAssign("refused"));
    const task = await h.submit();
    const runner = await h.connect("unlucky");
    await h.clock.advanceAsync(ASSIGN_RETRY_MS - 1);
    expect(runner.assigns).toHaveLength(0);
    expect((await h.task(task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    await h.clock.advanceAsync(1);
    const assign = await h.nextAssign(runner);
    expect(assign).toMatchObject({ taskId: task.id, attempt: 1 });
    expect((await h.run(assign.runId)).phase).toBe(RunPhase.RUN_PHASE_ASSIGNED);
  });
});

describe("a hello whose record fails to commit", () => {
  it("fails, and lets go of the name: a new process of that name is welcomed at once", async () => {
    const h = (harness = await EngineHarness.start());
    let failed = false;
    h.storeUnavailable = (writes) => {
      if (failed || writes.runners.length === 0) return undefined;
      failed = true;
      return "refused";
    };
    await expect(h.connect("reborn", { instanceId: "process-1" })).rejects.toMatchObject({
      reason: ErrorReason.STORE_UNAVAILABLE,
    });
    const again = await h.connect("reborn", { instanceId: "process-2" }); // no time has passed
    expect(again.session?.name).toBe("reborn");
    expect((await h.backend.getRunnerByName("reborn"))?.id).toBe(again.session!.id);
  });
});
