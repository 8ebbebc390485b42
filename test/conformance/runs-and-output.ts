import { Run, RunPhase, type Task } from "@supervisor/sdk";
import { expect, it } from "vitest";
import type { StorageBackend } from "../../server/src/store/backend.js";
import {
  chunk,
  commitWrites,
  decide,
  insertTasks,
  makeRun,
  makeTask,
  type OpenBackend,
  useBackend,
  writeSet,
} from "./fixtures.js";

/** Task 1 with runs of attempts 1..3, task 2 with none. */
async function seed(backend: StorageBackend): Promise<{ task: Task; other: Task; runs: Run[] }> {
  const [task, other] = await insertTasks(backend, [{ task: makeTask(1) }, { task: makeTask(2) }]);
  const runs = [1, 2, 3].map((attempt) => makeRun(task!, 1, attempt, RunPhase.RUN_PHASE_FAILED));
  await decide(backend, (view) => {
    for (const run of runs) view.putRun(run);
  });
  return { task: task!, other: other!, runs };
}

const chunksOf = (runId: string) => [
  chunk(runId, 1, 0, "first line\n"),
  chunk(runId, 2, 11, "second\n", 2),
  chunk(runId, 3, 18, "third\n"),
  // 100 bytes dropped before this one (the output cap): offsets say so.
  chunk(runId, 5, 124, "fifth\n"),
];

export function runAndOutputTests(open: OpenBackend): void {
  const fresh = useBackend(open);

  it("a run is stored, then updated in place", async () => {
    const { backend } = fresh;
    const [task] = await insertTasks(backend, [{ task: makeTask(1) }]);
    const assigned = makeRun(task!, 1, 1);
    await decide(backend, (view) => view.putRun(assigned));
    expect(await backend.getRun(assigned.id)).toEqual(assigned);
    const running = { ...assigned, phase: RunPhase.RUN_PHASE_RUNNING, startTime: new Date(2_000), outputBytes: 12 };
    await decide(backend, (view) => view.putRun(running));
    expect(await backend.getRun(assigned.id)).toEqual(running);
    expect((await backend.listTaskRuns(task!.id, 0, 10)).map((stored) => stored.run)).toEqual([running]);
    expect(await backend.getRun(makeRun(task!, 1, 2).id)).toBeUndefined();
  });

  it("getRunByAttempt: the run of an attempt, the latest for 0, undefined when there is none", async () => {
    const { backend } = fresh;
    const { task, other, runs } = await seed(backend);
    expect(await backend.getRunByAttempt(task.id, 2)).toEqual(runs[1]);
    expect(await backend.getRunByAttempt(task.id, 0)).toEqual(runs[2]);
    expect(await backend.getRunByAttempt(task.id, 4)).toBeUndefined();
    expect(await backend.getRunByAttempt(other.id, 0)).toBeUndefined();
  });

  it("listTaskRuns pages after an attempt, oldest first, with each run's encoded size", async () => {
    const { backend } = fresh;
    const { task, other, runs } = await seed(backend);
    const first = await backend.listTaskRuns(task.id, 0, 2);
    expect(first).toEqual(runs.slice(0, 2).map((run) => ({ run, encodedBytes: Run.encode(run).finish().length })));
    expect((await backend.listTaskRuns(task.id, 2, 2)).map((stored) => stored.run)).toEqual([runs[2]]);
    expect(await backend.listTaskRuns(task.id, 3, 2)).toEqual([]);
    expect(await backend.listTaskRuns(other.id, 0, 10)).toEqual([]);
  });

  it("prunedRuns deletes a task's runs through an attempt, with their output; later runs keep theirs", async () => {
    const { backend } = fresh;
    const { task, runs } = await seed(backend);
    await commitWrites(backend, writeSet({ outputChunks: runs.map((run) => chunk(run.id, 1, 0, run.id)) }));
    await decide(backend, (view) => view.pruneRuns(task.id, 2));
    expect(await backend.getRun(runs[0]!.id)).toBeUndefined();
    expect(await backend.getRun(runs[1]!.id)).toBeUndefined();
    expect(await backend.readOutput(runs[0]!.id, 0, 10)).toEqual([]);
    expect(await backend.readOutput(runs[1]!.id, 0, 10)).toEqual([]);
    expect((await backend.listTaskRuns(task.id, 0, 10)).map((stored) => stored.run)).toEqual([runs[2]]);
    expect((await backend.readOutput(runs[2]!.id, 0, 10)).map((record) => record.data.toString())).toEqual([
      runs[2]!.id,
    ]);
  });

  it("a run written and pruned in one transaction stays pruned (runs are applied before prunedRuns)", async () => {
    const { backend } = fresh;
    const { task, runs } = await seed(backend);
    const next = makeRun(task, 1, 4);
    await decide(backend, (view) => {
      view.putRun({ ...runs[0]!, error: "finished late" });
      view.pruneRuns(task.id, 1);
      view.putRun(next);
    });
    expect(await backend.getRun(runs[0]!.id)).toBeUndefined();
    expect((await backend.listTaskRuns(task.id, 0, 10)).map((stored) => stored.run.attempt)).toEqual([2, 3, 4]);
  });

  it("readOutput: the stored chunks after a seq, in seq order, at most the limit, with every field", async () => {
    const { backend } = fresh;
    const { runs } = await seed(backend);
    const chunks = chunksOf(runs[0]!.id);
    await decide(backend, (view) => {
      // Stored out of order: reads are in seq order all the same.
      for (const record of [...chunks].reverse()) view.addOutputChunk(record);
      view.addOutputChunk(chunk(runs[1]!.id, 1, 0, "another run"));
    });
    expect(await backend.readOutput(runs[0]!.id, 0, 10)).toEqual(chunks);
    expect(await backend.readOutput(runs[0]!.id, 1, 2)).toEqual(chunks.slice(1, 3));
    expect(await backend.readOutput(runs[0]!.id, 3, 10)).toEqual(chunks.slice(3));
    expect(await backend.readOutput(runs[0]!.id, 5, 10)).toEqual([]);
    expect(await backend.readOutput(runs[2]!.id, 0, 10)).toEqual([]);
  });

  it("outputEndThrough: where the last chunk at or before a seq ends; 0 before the first", async () => {
    const { backend } = fresh;
    const { runs } = await seed(backend);
    await commitWrites(backend, writeSet({ outputChunks: chunksOf(runs[0]!.id) }));
    const end = (seq: number) => backend.outputEndThrough(runs[0]!.id, seq);
    expect(await end(0)).toBe(0);
    expect(await end(1)).toBe(11);
    expect(await end(3)).toBe(24);
    expect(await end(4)).toBe(24);
    expect(await end(5)).toBe(130);
    expect(await end(100)).toBe(130);
    expect(await backend.outputEndThrough(runs[1]!.id, 100)).toBe(0);
  });

  it("outputExtents: where each chunk sits, in seq order; a deleted chunk leaves reads, extents and ends", async () => {
    const { backend } = fresh;
    const { runs } = await seed(backend);
    const run = runs[0]!.id;
    await commitWrites(backend, writeSet({ outputChunks: chunksOf(run) }));
    expect(await backend.outputExtents(run)).toEqual([
      { seq: 1, offset: 0, size: 11 },
      { seq: 2, offset: 11, size: 7 },
      { seq: 3, offset: 18, size: 6 },
      { seq: 5, offset: 124, size: 6 },
    ]);
    await decide(backend, (view) => {
      view.deleteOutputChunk(run, 2);
      view.deleteOutputChunk(run, 3);
      view.deleteOutputChunk(run, 9); // not stored: nothing to delete
    });
    expect((await backend.outputExtents(run)).map((extent) => extent.seq)).toEqual([1, 5]);
    expect((await backend.readOutput(run, 0, 10)).map((record) => record.seq)).toEqual([1, 5]);
    expect(await backend.outputEndThrough(run, 3)).toBe(11);
    expect(await backend.outputExtents(runs[1]!.id)).toEqual([]);
  });

  it("a chunk stored again (same run and seq) is ignored, and the rest of its transaction commits", async () => {
    const { backend } = fresh;
    const { runs } = await seed(backend);
    const run = runs[0]!.id;
    await commitWrites(backend, writeSet({ outputChunks: [chunk(run, 1, 0, "original")] }));
    await decide(backend, (view) => {
      view.addOutputChunk(chunk(run, 1, 0, "resent, different"));
      view.addOutputChunk(chunk(run, 2, 8, "new"));
      view.putRun({ ...runs[0]!, outputBytes: 11 });
    });
    const stored = await backend.readOutput(run, 0, 10);
    expect(stored.map((record) => [record.seq, record.data.toString()])).toEqual([
      [1, "original"],
      [2, "new"],
    ]);
    expect((await backend.getRun(run))?.outputBytes).toBe(11);
  });
}
