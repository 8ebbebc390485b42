import { type Task, TaskFilter, TaskPhase, type Timer } from "@supervisor/sdk";
import { fanOutTarget, fanOutWindowEndMs, isFanOut } from "../core/fan-out.js";
import type { RunnerCandidate } from "../core/routing.js";
import { compileFilter } from "../core/task-filter.js";
import { isActive, isTerminal } from "../core/task-lifecycle.js";
import type { StorageBackend } from "../store/backend.js";
import type { WriteRequest } from "../store/group-commit.js";
import { listParams } from "../store/list-params.js";
import { decodeTask } from "../store/rows.js";
import { cancelChildWrite, fanOutChildWrite, fanOutWindowEndWrite } from "../store/writes.js";
import { type CommitRetry, commitUntilDone } from "./commit-until-done.js";
import type { Duty } from "./leader-duties.js";

export interface FanOutDeps {
  backend: StorageBackend;
  retry: CommitRetry;
  /** Makes a write the leader's (it carries the epoch: a deposed leader's fails). */
  asLeader<R>(write: WriteRequest<R>): WriteRequest<R>;
  /** The runners dispatch knows now (every server's, on the leader). */
  runners(): Iterable<RunnerCandidate>;
}

/** Active tasks read per page when the lead is taken. */
const PAGE = 500;

interface OpenWindow {
  parent: Task;
  /** Runners offered a child already (the store keeps one child per runner whatever happens here). */
  offered: Set<string>;
  timer: Timer;
}

/**
 * The leader's part of fan-out: a matching runner that connects within a parent's fan_out_window gets its
 * child, a window that closes ends its parent when no child is active, and a canceled parent's children
 * are canceled. What it holds is rebuilt from the store's active parents on taking the lead, so a new
 * leader finishes what the old one left (a cascade, a window that closed meanwhile).
 */
export class FanOutDuty {
  private leading = false;
  private readonly windows = new Map<string, OpenWindow>();
  /** Parents whose cascade this term started. */
  private readonly cascading = new Set<string>();

  constructor(private readonly deps: FanOutDeps) {}

  readonly duty: Duty = () => {
    this.leading = true;
    void this.rebuild().catch((error) => this.deps.retry.log("reading the active fan-out parents failed", error));
    return () => {
      this.leading = false;
      for (const window of this.windows.values()) window.timer.cancel();
      this.windows.clear();
      this.cascading.clear();
    };
  };

  /** A committed change (any server's). Costs one comparison for a task that is no fan-out parent. */
  follow(task: Task, deleted: boolean): void {
    if (!this.leading || !isFanOut(task.spec)) return;
    const status = task.status!;
    if (deleted || isTerminal(status.phase) || status.cancelRequested) this.close(task.id);
    if (!deleted && status.phase === TaskPhase.TASK_PHASE_RUNNING && status.cancelRequested) this.cascade(task.id);
    if (!deleted && isActive(status.phase) && !status.cancelRequested) this.watchWindow(task);
  }

  /** A runner joined dispatch (connected, or changed): the open windows it fits give it a child. */
  runnerSeen(runner: RunnerCandidate): void {
    if (!this.leading) return;
    for (const window of this.windows.values()) this.offer(window, runner);
  }

  private async rebuild(): Promise<void> {
    const { backend } = this.deps;
    const filter = compileFilter(
      TaskFilter.fromPartial({ phases: [TaskPhase.TASK_PHASE_PENDING, TaskPhase.TASK_PHASE_RUNNING] }),
    );
    for (let before: string | undefined; this.leading; ) {
      const page = await backend.listTasks(listParams(filter, before, PAGE));
      for (const { encoded } of page.items) {
        const task = decodeTask({ task: encoded });
        if (isFanOut(task.spec)) this.follow(task, false);
      }
      if (!page.nextBeforeId) return;
      before = page.nextBeforeId;
    }
  }

  private watchWindow(parent: Task): void {
    const known = this.windows.get(parent.id);
    if (known) {
      known.parent = parent;
      return;
    }
    const { clock, timers } = this.deps.retry;
    const leftMs = fanOutWindowEndMs(parent) - clock.now();
    if (leftMs <= 0) {
      // Closed while nobody led (or before this server heard of it), no child active: the parent ends now.
      const fanOut = parent.status!.fanOut;
      const idle = !fanOut || fanOut.pending + fanOut.running === 0;
      if (parent.spec!.fanOutWindow && idle) {
        this.write(`closing the fan-out window of ${parent.id}`, fanOutWindowEndWrite(parent.id));
      }
      return;
    }
    const window: OpenWindow = {
      parent,
      offered: new Set(),
      timer: timers.after(leftMs, () => {
        this.windows.delete(parent.id);
        this.write(`closing the fan-out window of ${parent.id}`, fanOutWindowEndWrite(parent.id));
      }),
    };
    this.windows.set(parent.id, window);
    // Runners that connected between the submit's read of the runners table and now.
    for (const runner of this.deps.runners()) this.offer(window, runner);
  }

  private close(parentId: string): void {
    this.windows.get(parentId)?.timer.cancel();
    this.windows.delete(parentId);
  }

  private offer(window: OpenWindow, runner: RunnerCandidate): void {
    if (!runner.acceptsWork || window.offered.has(runner.id) || !fanOutTarget(window.parent.spec!, runner)) return;
    window.offered.add(runner.id);
    const what = `fanning out ${window.parent.id} to runner ${runner.name}`;
    this.write(what, fanOutChildWrite(window.parent.id, runner.id), () => window.offered.delete(runner.id));
  }

  /** Cancels every active child of a canceled parent (each child's end counts in the parent, which ends last). */
  private cascade(parentId: string): void {
    if (this.cascading.has(parentId)) return;
    this.cascading.add(parentId);
    void (async () => {
      const filter = compileFilter(TaskFilter.fromPartial({ parentId }));
      const children: string[] = [];
      for (let before: string | undefined; ; ) {
        const page = await this.deps.backend.listTasks(listParams(filter, before, PAGE));
        for (const { encoded } of page.items) {
          const child = decodeTask({ task: encoded });
          if (isActive(child.status!.phase) && !child.status!.cancelRequested) children.push(child.id);
        }
        if (!page.nextBeforeId) break;
        before = page.nextBeforeId;
      }
      for (const id of children) this.write(`canceling ${id}, a child of canceled ${parentId}`, cancelChildWrite(id));
    })().catch((error) => {
      this.cascading.delete(parentId);
      this.deps.retry.log(`canceling the children of ${parentId} failed`, error);
    });
  }

  private write<R>(what: string, write: WriteRequest<R>, failed?: () => void): void {
    commitUntilDone(this.deps.retry, what, this.deps.asLeader(write)).catch((error: unknown) => {
      failed?.();
      if (this.leading) this.deps.retry.log(`${what} failed`, error);
    });
  }
}
