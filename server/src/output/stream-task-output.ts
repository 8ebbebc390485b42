import {
  type Run,
  RunPhase,
  type StreamTaskOutputRequest,
  type StreamTaskOutputResponse,
  TaskPhase,
  type TaskStatus,
} from "@supervisor/sdk";
import { isTerminal } from "../core/task-lifecycle.js";
import { outputNotFound, outputTooSlow, taskNotFound } from "../errors.js";
import type { OutputHub, RunEvent } from "../execution/output-hub.js";
import type { StorageBackend } from "../store/backend.js";

const REPLAY_BATCH = 256;
/**
 * Events an output follower may fall behind before it is ended (OUTPUT_TOO_SLOW)
 * and asked to resume with since_seq.
 */
const MAX_LAG_EVENTS = 4096;

const isActiveRun = (run: Run) => run.phase === RunPhase.RUN_PHASE_ASSIGNED || run.phase === RunPhase.RUN_PHASE_RUNNING;

/** Live events for one task, buffered while the stream replays; bounded. */
/**
 * taskEnded: the task is terminal; taskChanged: any other change of it, with its status (a run's start
 * or end on another server shows here).
 */
type FollowEvent = RunEvent | { kind: "taskEnded" } | { kind: "taskChanged"; status: TaskStatus };

/** The task says its attempt `attempt` is still the one running: its run cannot have ended. */
const stillRunning = (status: TaskStatus, attempt: number) =>
  status.phase === TaskPhase.TASK_PHASE_RUNNING && status.attempt === attempt;

/** The task says the awaited attempt has started (0 = any attempt). */
const hasStarted = (status: TaskStatus, attempt: number) =>
  status.attempt > 0 && (attempt === 0 || status.attempt >= attempt);

class EventQueue {
  items: FollowEvent[] = [];
  overflowed = false;
  private wake?: () => void;
  push(event: FollowEvent) {
    if (this.items.length >= MAX_LAG_EVENTS) this.overflowed = true;
    else this.items.push(event);
    this.wake?.();
  }
  async next(signal: AbortSignal): Promise<FollowEvent | undefined> {
    while (this.items.length === 0 && !this.overflowed && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
    return this.items.shift();
  }
}

/**
 * StreamTaskOutput. Without follow: the stored output of the attempt, with a
 * `truncated` event where the cap dropped bytes. With follow: run_started,
 * the stored output, then live output until run_finished. Live events are
 * subscribed before the stored output is read (same tick), and chunks are
 * deduplicated by seq, so nothing falls in the seam.
 */
export async function* streamTaskOutput(
  backend: StorageBackend,
  outputs: OutputHub,
  request: StreamTaskOutputRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamTaskOutputResponse> {
  const task = (await backend.getTask(request.taskId))?.task;
  if (!task) throw taskNotFound(request.taskId);
  const queue = new EventQueue();
  // Subscribed before anything is read: chunks both read and heard are deduplicated by seq.
  const unsubscribe = request.follow ? outputs.subscribe(task.id, (event) => queue.push(event)) : undefined;
  // A task that ends before the awaited attempt starts (canceled while pending) ends the follow.
  const unsubscribeTask = request.follow
    ? backend.onCommit((changes) => {
        for (const change of changes) {
          if (change.task.id !== task.id) continue;
          const status = change.task.status!;
          queue.push(isTerminal(status.phase) ? { kind: "taskEnded" } : { kind: "taskChanged", status });
        }
      })
    : undefined;
  try {
    const stored = await backend.getRunByAttempt(task.id, request.attempt);
    if (!request.follow) {
      if (!stored) throw outputNotFound(task.id, request.attempt);
      const replayed = yield* replay(backend, stored, request.sinceSeq);
      if (replayed.sent === 0 && request.sinceSeq === 0) throw outputNotFound(task.id, request.attempt);
      return;
    }
    let run: Run | undefined = stored;
    let row = stored;
    if (!run) {
      if (isTerminal(task.status!.phase)) throw outputNotFound(task.id, request.attempt); // it will never run
      // Wait for the attempt to start. A short run's start is written with its end (one commit), so
      // the task may end before "started" is heard: then the stored run, if any, is the answer.
      while (!run) {
        const event = await queue.next(signal);
        if (!event) return;
        if (event.kind === "taskEnded") {
          run = await backend.getRunByAttempt(task.id, request.attempt);
          if (!run) return;
        } else if (event.kind === "taskChanged") {
          // Started on another server (its runner is connected there): only the journal says so here.
          if (hasStarted(event.status, request.attempt)) run = await backend.getRunByAttempt(task.id, request.attempt);
        } else if (event.kind === "started" && (request.attempt === 0 || event.run.attempt === request.attempt))
          run = event.run;
      }
      row = await backend.getRunByAttempt(task.id, run.attempt);
    }
    yield { event: { $case: "runStarted", value: { run } } };
    let lastSeq = request.sinceSeq;
    let end = 0;
    if (row) {
      const replayed = yield* replay(backend, row, request.sinceSeq);
      lastSeq = Math.max(lastSeq, replayed.lastSeq);
      end = replayed.end;
    }
    const latest = row ?? run;
    if (!isActiveRun(latest)) {
      yield { event: { $case: "runFinished", value: { run: latest } } };
      return;
    }
    for (;;) {
      const event = await queue.next(signal);
      if (queue.overflowed) {
        throw outputTooSlow(lastSeq);
      }
      if (!event) return;
      if (event.kind === "chunk" && event.chunk.seq > lastSeq) {
        if (event.chunk.offset > end) yield truncated(event.chunk.offset - end);
        lastSeq = event.chunk.seq;
        end = event.chunk.offset + event.chunk.data.length;
        yield { event: { $case: "chunk", value: event.chunk } };
      } else if (event.kind === "finished" && event.run.id === run.id) {
        if (event.run.outputBytes > end) yield truncated(event.run.outputBytes - end);
        yield { event: { $case: "runFinished", value: { run: event.run } } };
        return;
      } else if (event.kind === "taskEnded" || event.kind === "taskChanged") {
        // The run may have ended on another server (its runner connected there): its end and its output are
        // stored, and only the journal says so here. The rest of its output comes from the store, then the end.
        // While the task says this attempt still runs (every change of a busy run), there is nothing to read.
        if (event.kind === "taskChanged" && stillRunning(event.status, run.attempt)) continue;
        const now = await backend.getRun(run.id);
        if (!now || isActiveRun(now)) continue;
        yield* replay(backend, now, lastSeq);
        yield { event: { $case: "runFinished", value: { run: now } } };
        return;
      }
    }
  } finally {
    unsubscribe?.();
    unsubscribeTask?.();
  }
}

/** Where a replay left off: the last seq sent, the end offset of what was sent, and how many chunks. */
interface ReplayMark {
  lastSeq: number;
  end: number;
  sent: number;
}

const truncated = (droppedBytes: number): StreamTaskOutputResponse => ({
  event: { $case: "truncated", value: { droppedBytes } },
});

/**
 * Yields the stored chunks after `sinceSeq` in order, with a `truncated`
 * event at every gap between one chunk's end and the next chunk's offset
 * (bytes the cap or a runner dropped), and at the end of an ended run whose
 * last bytes were not kept.
 */
async function* replay(
  backend: StorageBackend,
  run: Run,
  sinceSeq: number,
): AsyncGenerator<StreamTaskOutputResponse, ReplayMark> {
  const mark: ReplayMark = {
    lastSeq: sinceSeq,
    end: sinceSeq > 0 ? await backend.outputEndThrough(run.id, sinceSeq) : 0,
    sent: 0,
  };
  for (;;) {
    const chunks = await backend.readOutput(run.id, mark.lastSeq, REPLAY_BATCH);
    for (const chunk of chunks) {
      if (chunk.offset > mark.end) yield truncated(chunk.offset - mark.end);
      yield {
        event: {
          $case: "chunk",
          value: {
            stream: chunk.stream,
            data: chunk.data,
            seq: chunk.seq,
            time: new Date(chunk.timeMs),
            offset: chunk.offset,
          },
        },
      };
      mark.lastSeq = chunk.seq;
      mark.end = chunk.offset + chunk.data.length;
      mark.sent++;
    }
    if (chunks.length < REPLAY_BATCH) break;
  }
  if (!isActiveRun(run) && run.outputBytes > mark.end) yield truncated(run.outputBytes - mark.end);
  return mark;
}
