import {
  EventType,
  OverlapPolicy,
  Run,
  type RunnerInfo as Runner,
  RunnerInfo,
  RunnerState,
  RunPhase,
  Schedule,
  Task,
  TaskPhase,
} from "@supervisor/sdk";
import { afterEach, beforeEach, onTestFinished } from "vitest";
import type { SlotState } from "../../server/src/core/task-lifecycle.js";
import {
  emptyWriteSet,
  type OutputChunkRecord,
  type ReadKeys,
  type ScheduleRow,
  type StorageBackend,
  type TaskChange,
  type TaskWrite,
  type WriteSet,
} from "../../server/src/store/backend.js";
import { WriteView } from "../../server/src/store/decide/view.js";

/** Opens a fresh, empty backend; `close` releases it and removes whatever it stored. */
export type OpenBackend = () => Promise<{ backend: StorageBackend; close(): Promise<void> }>;

/** A fresh backend for each test of the enclosing describe, closed after it. */
export function useBackend(open: OpenBackend): { readonly backend: StorageBackend } {
  let opened: Awaited<ReturnType<OpenBackend>> | undefined;
  beforeEach(async () => {
    opened = await open();
  });
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });
  return {
    get backend() {
      if (!opened) throw new Error("no backend outside a test");
      return opened.backend;
    },
  };
}

// ---------------------------------------------------------------- ids

const BASE_MS = Date.UTC(2025, 0, 1);
const uuid = (group: string, n: number) => `00000000-0000-7000-${group}-${n.toString(16).padStart(12, "0")}`;

/** UUID-shaped, lowercase, and sorting by `n`: ids as the server makes them, chosen by the test. */
export const taskId = (n: number) => uuid("8000", n);
export const runId = (n: number, attempt: number) => uuid(`9${attempt.toString(16).padStart(3, "0")}`, n);
export const runnerId = (n: number) => uuid("a000", n);

// ---------------------------------------------------------------- records

export interface TaskShape {
  slot?: string;
  phase?: TaskPhase;
  runnerId?: string;
  labels?: Record<string, string>;
  /** ms since the epoch; terminal tasks only (defaults to their update time). */
  finishMs?: number;
  args?: string[];
  priority?: number;
}

export const isTerminalPhase = (phase: TaskPhase) =>
  phase !== TaskPhase.TASK_PHASE_PENDING && phase !== TaskPhase.TASK_PHASE_RUNNING;

/** A task as the server would store it (revision 0: the write gives it one). */
export function makeTask(n: number, shape: TaskShape = {}): Task {
  const phase = shape.phase ?? TaskPhase.TASK_PHASE_PENDING;
  const time = new Date(BASE_MS + n * 1000);
  return Task.fromPartial({
    id: taskId(n),
    spec: {
      slot: shape.slot ?? "",
      labels: shape.labels ?? {},
      priority: shape.priority ?? 0,
      exec: { $case: "subprocess", value: { command: "echo", args: shape.args ?? [`task ${n}`] } },
    },
    status: {
      phase,
      attempt: shape.runnerId ? 1 : 0,
      runnerId: shape.runnerId ?? "",
      reason: "",
      message: "",
      finishTime: isTerminalPhase(phase) ? new Date(shape.finishMs ?? time.getTime()) : undefined,
    },
    createTime: time,
    updateTime: time,
    revision: 0,
  });
}

/** The task after a change of its phase and runner (what changes over a task's life). */
export function withStatus(task: Task, phase: TaskPhase, runner = "", finishMs?: number): Task {
  const updated = new Date((task.updateTime?.getTime() ?? BASE_MS) + 1);
  return {
    ...task,
    status: {
      ...task.status!,
      phase,
      runnerId: runner,
      finishTime: isTerminalPhase(phase) ? new Date(finishMs ?? updated.getTime()) : undefined,
    },
    updateTime: updated,
  };
}

export function makeRun(task: Task, n: number, attempt: number, phase = RunPhase.RUN_PHASE_ASSIGNED): Run {
  return Run.fromPartial({
    id: runId(n, attempt),
    taskId: task.id,
    attempt,
    runnerId: runnerId(1),
    runnerName: "runner-1",
    phase,
    assignTime: new Date(BASE_MS + attempt),
  });
}

export function makeRunner(n: number, name: string): Runner {
  return RunnerInfo.fromPartial({
    id: runnerId(n),
    name,
    labels: { zone: "a" },
    kinds: ["subprocess"],
    capacity: 2,
    state: RunnerState.RUNNER_STATE_CONNECTED,
    connectTime: new Date(BASE_MS),
    version: "1.0.0",
  });
}

export function chunk(run: string, seq: number, offset: number, text: string, stream = 1): OutputChunkRecord {
  return { runId: run, seq, stream, timeMs: BASE_MS + seq, offset, data: Buffer.from(text) };
}

// ---------------------------------------------------------------- writes

/**
 * One transaction decided the way the group commit decides: read `keys`,
 * lay a WriteView over the snapshot, let `decide` write through it.
 */
export function decide<R>(backend: StorageBackend, decide: (view: WriteView) => R, keys: ReadKeys = {}): Promise<R> {
  return backend.transact(async (tx) => {
    const view = new WriteView(await tx.read(keys), tx.firstRevision);
    const result = decide(view);
    return { writes: view.writes, result };
  });
}

export type Placed = { task: Task; slotState?: SlotState };

/** Stores new tasks (ADDED each) in one transaction; returns them as stored (with their revisions). */
export const insertTasks = (backend: StorageBackend, tasks: readonly Placed[]): Promise<Task[]> =>
  decide(backend, (view) => tasks.map(({ task, slotState }) => view.insertTask(task, slotState ?? "none")));

/** Stores changed tasks (MODIFIED each, with the stored one as `previous`) in one transaction. */
export const updateTasks = (backend: StorageBackend, tasks: readonly Placed[]): Promise<Task[]> =>
  decide(
    backend,
    (view) => tasks.map(({ task, slotState }) => view.updateTask(task, view.task(task.id)!.task, slotState ?? "none")),
    { tasks: tasks.map(({ task }) => task.id) },
  );

/** Deletes tasks (DELETED each) in one transaction. */
export const deleteTasks = (backend: StorageBackend, ids: readonly string[]): Promise<void> =>
  decide(
    backend,
    (view) => {
      for (const id of ids) view.deleteTask(view.task(id)!.task);
    },
    { tasks: ids },
  );

/** A write set made by hand, for what WriteView never produces (revisions out of order). */
export const writeSet = (parts: Partial<WriteSet>): WriteSet => ({ ...emptyWriteSet(), ...parts });

/** A hand-made task write: the change of `task` at `revision`. */
export function taskWrite(task: Task, type: EventType, revision: number, slotState: SlotState = "none"): TaskWrite {
  return { change: { revision, type, task: { ...task, revision } }, slotState };
}

/** Commits a hand-made write set as it is. */
export const commitWrites = (backend: StorageBackend, writes: WriteSet): Promise<void> =>
  backend.transact(async () => ({ writes, result: undefined }));

// ---------------------------------------------------------------- reads

/** Every committed batch a listener receives from now on, until the test ends. */
export function recordCommits(backend: StorageBackend): TaskChange[][] {
  const batches: TaskChange[][] = [];
  onTestFinished(backend.onCommit((changes) => batches.push([...changes])));
  return batches;
}

/** The whole journal still kept, oldest first. */
export const wholeJournal = (backend: StorageBackend) => backend.readJournal(0, 1_000_000);

export const revisionsOf = (changes: readonly TaskChange[]) => changes.map((change) => change.revision);

export const encodingOf = (task: Task) => Buffer.from(Task.encode(task).finish());

export const ADDED = EventType.EVENT_TYPE_ADDED;
export const MODIFIED = EventType.EVENT_TYPE_MODIFIED;
export const DELETED = EventType.EVENT_TYPE_DELETED;

// ---------------------------------------------------------------- schedules

export const scheduleId = (n: number) => `schedule-${n.toString().padStart(3, "0")}`;

export interface ScheduleShape {
  paused?: boolean;
  cursorMs?: number;
  /** null: never due (a named definition). */
  nextDueMs?: number | null;
  note?: string;
}

/** A schedule as the service would store it on create: generation 1, nothing fired yet. */
export function makeSchedule(n: number, shape: ScheduleShape = {}): ScheduleRow {
  const createMs = BASE_MS + n * 1000;
  return {
    id: scheduleId(n),
    definition: Schedule.fromPartial({
      id: scheduleId(n),
      spec: { cron: "*/5 * * * *", timeZone: "Europe/Berlin" },
      task: {
        labels: { team: "billing" },
        exec: { $case: "subprocess", value: { command: "echo", args: [`schedule ${n}`] } },
      },
      overlap: OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE,
      catchupWindow: { seconds: 120, nanos: 0 },
      paused: shape.paused ?? false,
      labels: { owner: "ops" },
      note: shape.note ?? `note ${n}`,
    }),
    generation: 1,
    createMs,
    updateMs: createMs,
    cursorMs: shape.cursorMs ?? createMs,
    nextDueMs: shape.nextDueMs === undefined ? createMs + 300_000 : shape.nextDueMs,
    lastFireMs: null,
    recentTaskIds: [],
    missed: 0,
    skipped: 0,
    fired: 0,
  };
}
