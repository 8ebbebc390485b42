/**
 * A harness for the pure decide step (server/src/store/decide/): committed
 * state held in memory and answered the way a backend answers `ReadKeys`
 * (tasks as stored protobuf bytes, slot owners, slot queues oldest first to
 * a depth), and a batch decided the way the group commit decides one — each
 * request between begin() and commit()/rollback(), a NeedsRead answered from
 * the committed state and the request decided again.
 */
import {
  EventType,
  type Run,
  RunPhase,
  Task,
  TaskPhase,
  type TaskSpec,
  type TaskStatus,
  withSpecDefaults,
} from "@supervisor/sdk";
import { newTask, type SlotState } from "../../server/src/core/task-lifecycle.js";
import { DomainError } from "../../server/src/errors.js";
import type { IdempotencyKey, ReadKeys, Snapshot, StoredTask, WriteSet } from "../../server/src/store/backend.js";
import { NeedsRead, QUEUE_READ_DEPTH, WriteView } from "../../server/src/store/decide/view.js";
import { mergeReads, type WriteRequest } from "../../server/src/store/group-commit.js";
import { subprocessSpec } from "./specs.js";

export const T0 = Date.UTC(2030, 0, 1);
export const DAY_MS = 24 * 60 * 60 * 1000;

/** A UUID-shaped task id that sorts by `n` (ids sort by submit time, and slot queues are FIFO by id). */
export const taskId = (n: number) => `0190c5e2-7b1d-7c3a-8f00-${n.toString().padStart(12, "0")}`;
export const runId = (task: string, attempt: number) => `${task.slice(0, 24)}${attempt.toString().padStart(12, "0")}`;

/** A subprocess spec with every server default applied, as validation leaves it. */
export const specOf = (overrides: Partial<TaskSpec> = {}): TaskSpec =>
  withSpecDefaults(subprocessSpec("true", [], overrides));

/** A task as submit would have stored it, with any status fields overridden. */
export function taskOf(id: string, spec: TaskSpec, slotState: SlotState, status: Partial<TaskStatus> = {}): Task {
  const task = newTask(id, spec, "", T0, slotState);
  return { ...task, status: { ...task.status!, ...status } };
}

export const runningStatus = (attempt = 1): Partial<TaskStatus> => ({
  phase: TaskPhase.TASK_PHASE_RUNNING,
  attempt,
  runnerId: "runner-1",
  startTime: new Date(T0),
});

export const runOf = (task: string, attempt: number, phase = RunPhase.RUN_PHASE_RUNNING): Run => ({
  id: runId(task, attempt),
  taskId: task,
  attempt,
  runnerId: "runner-1",
  runnerName: "one",
  runnerInstanceId: "instance-1",
  phase,
  error: "",
  outputBytes: 0,
  outputTruncated: false,
  assignTime: new Date(T0),
  logUrl: "",
  failedInitStep: 0,
});

/** Committed state, read back as a backend reads it: every task through its stored protobuf bytes. */
export class Committed {
  private readonly rows = new Map<string, { encoded: Uint8Array; slotState: SlotState }>();
  readonly keys = new Map<string, IdempotencyKey>();
  readonly runs = new Map<string, Run>();
  head = 0;

  /** Stores a task as if committed at the next revision. */
  put(task: Task, slotState: SlotState): Task {
    const stored = { ...task, revision: ++this.head };
    this.rows.set(task.id, { encoded: Task.encode(stored).finish(), slotState });
    return stored;
  }

  get(id: string): StoredTask | undefined {
    const row = this.rows.get(id);
    return row && { task: Task.decode(row.encoded), slotState: row.slotState, encoded: row.encoded };
  }

  private all(): StoredTask[] {
    return [...this.rows.keys()].map((id) => this.get(id)!);
  }

  read(keys: ReadKeys): Snapshot {
    const snapshot: Snapshot = {
      tasks: new Map(),
      slotOwners: new Map(),
      slotQueues: new Map(),
      idempotencyKeys: new Map(),
      runs: new Map(),
      runnerNames: new Map(),
      runnerServers: new Map(),
      rateKeys: new Map(),
    };
    for (const id of keys.tasks ?? []) snapshot.tasks.set(id, this.get(id) ?? null);
    for (const slot of keys.slotOwners ?? []) {
      const owner = this.all().find((s) => s.task.spec!.slot === slot && s.slotState === "owner");
      snapshot.slotOwners.set(slot, owner ?? null);
    }
    for (const slot of keys.slotQueues ?? []) {
      const queued = this.all()
        .filter((s) => s.task.spec!.slot === slot && s.slotState === "queued")
        .sort((a, b) => (a.task.id < b.task.id ? -1 : 1));
      snapshot.slotQueues.set(slot, {
        count: queued.length,
        oldest: queued.slice(0, keys.slotQueueDepth ?? QUEUE_READ_DEPTH),
      });
    }
    for (const id of keys.idempotencyKeys ?? []) snapshot.idempotencyKeys.set(id, this.keys.get(id) ?? null);
    for (const id of keys.runs ?? []) snapshot.runs.set(id, this.runs.get(id) ?? null);
    for (const name of keys.runnerNames ?? []) snapshot.runnerNames.set(name, null);
    for (const key of keys.rateKeys ?? []) snapshot.rateKeys.set(key, null);
    return snapshot;
  }

  /** Applies a batch's writes as a backend does at commit, checking the revisions run on from the head. */
  apply(writes: WriteSet): void {
    for (const { change, slotState } of writes.tasks) {
      if (change.revision !== this.head + 1) throw new Error(`revision ${change.revision} after ${this.head}`);
      this.head = change.revision;
      if (change.type === EventType.EVENT_TYPE_DELETED) this.rows.delete(change.task.id);
      else this.rows.set(change.task.id, { encoded: change.encoded ?? Task.encode(change.task).finish(), slotState });
    }
    for (const { taskId, throughAttempt } of writes.prunedRuns) {
      for (const [id, run] of this.runs)
        if (run.taskId === taskId && run.attempt <= throughAttempt) this.runs.delete(id);
    }
    for (const run of writes.runs) this.runs.set(run.id, run);
    for (const key of writes.idempotencyKeys) this.keys.set(key.requestId, key);
  }
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: DomainError };

export interface Decided {
  view: WriteView;
  outcomes: Outcome[];
  /** The further reads the batch's NeedsRead asked for, in order. */
  extraReads: ReadKeys[];
}

/** Decides `requests` as one group-commit batch over `committed` (no commit: see `commitBatch`). */
export function decideBatch(committed: Committed, requests: readonly WriteRequest<unknown>[], nowMs: number): Decided {
  const view = new WriteView(committed.read(mergeReads(requests.map((r) => r.reads))), committed.head + 1);
  const extraReads: ReadKeys[] = [];
  const outcomes = requests.map((request): Outcome => {
    for (let round = 0; ; round++) {
      view.begin();
      try {
        const value = request.decide(view, nowMs);
        view.commit();
        return { ok: true, value };
      } catch (error) {
        view.rollback();
        if (error instanceof DomainError) return { ok: false, error };
        if (!(error instanceof NeedsRead) || round >= 8) throw error;
        extraReads.push(error.keys);
        view.extend(committed.read(error.keys));
      }
    }
  });
  return { view, outcomes, extraReads };
}

/** Decides a batch and applies its writes to `committed`. */
export function commitBatch(committed: Committed, requests: readonly WriteRequest<unknown>[], nowMs: number): Decided {
  const decided = decideBatch(committed, requests, nowMs);
  committed.apply(decided.view.writes);
  return decided;
}

/** The value of an accepted request (fails the test on a refusal). */
export function accepted<R>(outcome: Outcome | undefined): R {
  if (!outcome?.ok) throw new Error(`refused: ${outcome ? outcome.error.message : "no outcome"}`);
  return outcome.value as R;
}

/** The DomainError of a refused request (fails the test on an acceptance). */
export function refused(outcome: Outcome | undefined): DomainError {
  if (!outcome || outcome.ok) throw new Error("accepted, expected a refusal");
  return outcome.error;
}

/** The (type, task id, revision) of each task change a batch would write, in order. */
export const changesOf = (writes: WriteSet) =>
  writes.tasks.map(({ change, slotState }) => ({
    type: change.type,
    id: change.task.id,
    revision: change.revision,
    phase: change.task.status!.phase,
    slotState,
  }));
