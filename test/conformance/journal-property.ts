import { type Task, TaskPhase } from "@supervisor/sdk";
import fc from "fast-check";
import { expect, it } from "vitest";
import type { TaskChange } from "../../server/src/store/backend.js";
import {
  ADDED,
  DELETED,
  decide,
  MODIFIED,
  makeTask,
  type OpenBackend,
  revisionsOf,
  wholeJournal,
  withStatus,
} from "./fixtures.js";

type Op =
  | { kind: "insert"; labels: Record<string, string> }
  | { kind: "update"; pick: number; phase: TaskPhase; runner: string }
  | { kind: "delete"; pick: number };

/** How a transaction ends: committed, `work` throwing, or an apply that fails (a task id stored twice). */
type Ending = "commit" | "throw" | "duplicate";

const PHASES = [
  TaskPhase.TASK_PHASE_PENDING,
  TaskPhase.TASK_PHASE_RUNNING,
  TaskPhase.TASK_PHASE_SUCCEEDED,
  TaskPhase.TASK_PHASE_FAILED,
  TaskPhase.TASK_PHASE_CANCELED,
];

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("insert" as const),
    labels: fc.dictionary(fc.constantFrom("team", "zone"), fc.constantFrom("a", "b"), { maxKeys: 2 }),
  }),
  fc.record({
    kind: fc.constant("update" as const),
    pick: fc.nat(),
    phase: fc.constantFrom(...PHASES),
    runner: fc.constantFrom("", "runner-a", "runner-b"),
  }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }),
);
const transaction = fc.record({
  ops: fc.array(op, { maxLength: 5 }),
  ending: fc.constantFrom<Ending>("commit", "commit", "commit", "throw", "duplicate"),
});

const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const RUNS = Number(process.env.CONFORMANCE_RUNS ?? 30);

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const summary = (changes: readonly TaskChange[]) =>
  changes.map((change) => [change.revision, change.type, change.task.id]);

export function journalPropertyTests(open: OpenBackend): void {
  it("random transactions leave a journal of revisions 1..head whose replay is every task as stored", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(transaction, { minLength: 1, maxLength: 12 }), async (history) => {
        const opened = await open();
        const { backend } = opened;
        try {
          const published: TaskChange[] = [];
          backend.onCommit((changes) => published.push(...changes));
          // The model: what is stored after each committed transaction.
          let live = new Map<string, Task>();
          const everStored = new Set<string>();
          let nextN = 1;
          for (const { ops, ending } of history) {
            const pending = new Map(live);
            let n = nextN;
            const attempt = decide(
              backend,
              (view) => {
                for (const step of ops) {
                  const ids = [...pending.keys()];
                  if (step.kind === "insert" || ids.length === 0) {
                    const labels = step.kind === "insert" ? step.labels : {};
                    const stored = view.insertTask(makeTask(n++, { labels }), "none");
                    pending.set(stored.id, stored);
                    continue;
                  }
                  const id = ids[step.pick % ids.length]!;
                  const current = view.task(id)!.task;
                  if (step.kind === "update") {
                    pending.set(id, view.updateTask(withStatus(current, step.phase, step.runner), current, "none"));
                  } else {
                    view.deleteTask(current);
                    pending.delete(id);
                  }
                }
                if (ending === "throw") throw new Error("refused on purpose");
                if (ending === "duplicate") {
                  const twice = pending.values().next().value ?? view.insertTask(makeTask(n), "none");
                  view.insertTask(twice, "none");
                }
              },
              { tasks: [...live.keys()] },
            );
            if (ending === "commit") {
              await attempt;
              live = pending;
              nextN = n;
              for (const id of live.keys()) everStored.add(id);
            } else {
              // Refused: the model stays, and the next insert reuses the ids, so a leaked row would collide.
              await expect(attempt).rejects.toThrow();
            }
          }

          const head = await backend.head();
          const journal = await wholeJournal(backend);
          expect(revisionsOf(journal)).toEqual(range(1, head));
          expect(summary(published)).toEqual(summary(journal));

          const replayed = new Map<string, Task>();
          for (const change of journal) {
            const id = change.task.id;
            expect(change.task.revision).toBe(change.revision);
            if (change.type === ADDED) expect(replayed.has(id)).toBe(false);
            else expect(replayed.has(id)).toBe(true);
            if (change.type === DELETED) replayed.delete(id);
            else {
              expect([ADDED, MODIFIED]).toContain(change.type);
              replayed.set(id, change.task);
            }
          }
          expect([...replayed.keys()].sort()).toEqual([...live.keys()].sort());
          for (const [id, task] of replayed) {
            expect(task).toEqual(live.get(id));
            expect((await backend.getTask(id))?.task).toEqual(task);
          }
          for (const id of everStored) {
            if (!replayed.has(id)) expect(await backend.getTask(id)).toBeUndefined();
          }
          const listed = (await backend.listTasks({ limit: 1000 })).items.length;
          expect(listed).toBe(replayed.size);
        } finally {
          await opened.close();
        }
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });
}
