// A watch stream that counts tasks reaching SUCCEEDED, for end-to-end measurements.
import { EventType, TaskPhase } from "@supervisor/sdk";
import { nowMs } from "./stats.mjs";

const RESOURCE_EXHAUSTED = 8;

/**
 * Watches tasks entering SUCCEEDED (server-side phase filter) from `sinceRevision`
 * and calls onSucceeded(task, receivedAtMs) once per task id. Like the SDK's
 * watch, it resumes from the last revision after WATCH_TOO_SLOW (counted in
 * `resumes`, bounded). `live` resolves at the first BOOKMARK.
 */
export function watchSucceeded(client, { sinceRevision = 0, onSucceeded, maxResumes = 100 }) {
  const seen = new Set();
  const state = { resumes: 0, stream: undefined, stopped: false };
  let cursor = sinceRevision;
  let resolveLive;
  let resolveEnded;
  const live = new Promise((resolve) => (resolveLive = resolve));
  const ended = new Promise((resolve) => (resolveEnded = resolve));
  const open = () => {
    const stream = client.watchTasks({
      sinceRevision: cursor,
      filter: {
        slot: "",
        phases: [TaskPhase.TASK_PHASE_SUCCEEDED],
        runnerId: "",
        idPrefix: "",
        parentId: "",
        labelSelector: "",
      },
      sendInitial: false,
    });
    state.stream = stream;
    stream.on("data", (event) => {
      const t = nowMs();
      cursor = Math.max(cursor, event.revision);
      if (event.type === EventType.EVENT_TYPE_BOOKMARK) return resolveLive(event.revision);
      const task = event.task;
      if (task?.status?.phase !== TaskPhase.TASK_PHASE_SUCCEEDED || seen.has(task.id)) return;
      seen.add(task.id);
      onSucceeded?.(task, t);
    });
    stream.on("error", () => {}); // the outcome is read from "status", once per stream
    stream.on("status", (status) => {
      if (state.stream !== stream) return;
      if (state.stopped) return resolveEnded(undefined);
      if (status.code === RESOURCE_EXHAUSTED && state.resumes < maxResumes) {
        state.resumes++;
        return open();
      }
      resolveEnded(
        status.code === 0
          ? undefined
          : Object.assign(new Error(status.details), { code: status.code, details: status.details }),
      );
    });
  };
  open();
  return {
    live,
    ended,
    seen,
    state,
    cancel: () => {
      state.stopped = true;
      state.stream?.cancel();
    },
  };
}
