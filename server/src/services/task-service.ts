import type { TaskServiceServer } from "@supervisor/sdk";
import { pagePrefix } from "../core/page-budget.js";
import { listTaskRuns } from "../db/queries/list-task-runs.js";
import { decodeRun } from "../db/queries/run-row.js";
import { DomainError, invalidArgument, type Logger, taskNotFound } from "../errors.js";
import type { ExecutionEngine } from "../execution/engine.js";
import { streamTaskOutput } from "../output/stream-task-output.js";
import { cancelTask } from "../store/cancel-task.js";
import type { GroupCommit } from "../store/group-commit.js";
import { type SubmitSettings, submitTask } from "../store/submit-task.js";
import type { TaskStore } from "../store/task-store.js";
import { decodePageToken, encodePageToken, pageSizeOf } from "../validation/page-token.js";
import { validateBatch, validateFilter, validateSubmit, validateTaskId } from "../validation/requests.js";
import type { SignaturePolicy } from "../validation/signature-policy.js";
import { type WatchSettings, watchTasks } from "../watch/watch-tasks.js";
import { serverStream, unary } from "./handlers.js";
import { batchBytesOf, listTasksWire } from "./task-service-definition.js";

/** The answer adds a status of ≈ 200 bytes per task: 3 MiB of requests answer in well under 4 MiB. */
const MAX_BATCH_BYTES = 3 * 1024 * 1024;

/** Runs one request's part of a batch; a refusal names the request (metadata request_index). */
function forRequest<T>(index: number, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DomainError) error.metadata.request_index = String(index);
    throw error;
  }
}

export interface TaskServiceDeps {
  store: TaskStore;
  commits: GroupCommit;
  submit: SubmitSettings;
  signatures: SignaturePolicy;
  watch: WatchSettings;
  engine: ExecutionEngine;
  log: Logger;
  shutdown: AbortSignal;
}

/** TaskService: validate → store → answer. No SQL and no status building here. */
export function taskServiceHandlers(deps: TaskServiceDeps): Partial<TaskServiceServer> {
  const { store, commits, log, shutdown } = deps;
  const submitSettings = deps.submit;
  return {
    submitTask: unary(log, shutdown, async (request) => {
      const { spec, requestId } = validateSubmit(request);
      deps.signatures.check(spec);
      return { task: await commits.run(() => submitTask(store, spec, requestId, submitSettings)) };
    }),

    batchSubmitTasks: unary(log, shutdown, async (request) => {
      // The answer is every request's spec plus its task's status: refused now,
      // not after a commit the caller could not read.
      const bytes = batchBytesOf(request);
      if (bytes > MAX_BATCH_BYTES) {
        throw invalidArgument([
          {
            field: "requests",
            description:
              `${bytes} bytes; a batch may be at most ${MAX_BATCH_BYTES} bytes ` +
              "so its answer fits a default client's 4 MiB: split it",
          },
        ]);
      }
      const submits = validateBatch(request);
      submits.forEach(({ spec }, index) => {
        forRequest(index, () => deps.signatures.check(spec, `requests[${index}].spec`));
      });
      // All or nothing: the first refusal undoes every submit of the batch.
      const tasks = await commits.run(() =>
        submits.map(({ spec, requestId }, index) =>
          forRequest(index, () => submitTask(store, spec, requestId, submitSettings)),
        ),
      );
      return { tasks };
    }),

    getTask: unary(log, shutdown, (request) => {
      const id = validateTaskId(request.id, "id");
      const task = store.get(id);
      if (!task) throw taskNotFound(id);
      return { task };
    }),

    listTasks: unary(log, shutdown, (request) => {
      const filter = validateFilter(request.filter);
      const pageSize = pageSizeOf(request.pageSize);
      const before = decodePageToken(request.pageToken, filter.key);
      const revision = store.head; // read in the same tick as the page: the page is exactly this revision
      const page = store.list(filter, before, pageSize);
      const nextPageToken = page.nextBeforeId ? encodePageToken(page.nextBeforeId, filter.key) : "";
      return listTasksWire(
        page.rows.map((row) => row.task),
        nextPageToken,
        revision,
      );
    }),

    watchTasks: serverStream(log, shutdown, (request, ctx) => {
      if (request.sinceRevision < 0)
        throw invalidArgument([{ field: "since_revision", description: "must not be negative" }]);
      const filter = validateFilter(request.filter);
      return watchTasks(store, request, filter, ctx.signal, deps.watch);
    }),

    streamTaskOutput: serverStream(log, shutdown, (request, ctx) => {
      validateTaskId(request.taskId, "task_id");
      const violations = [];
      if (request.attempt < 0)
        violations.push({ field: "attempt", description: "must not be negative (0 = the latest)" });
      if (request.sinceSeq < 0) violations.push({ field: "since_seq", description: "must not be negative" });
      if (violations.length > 0) throw invalidArgument(violations);
      return streamTaskOutput(store, deps.engine, request, ctx.signal);
    }),

    listTaskRuns: unary(log, shutdown, (request) => {
      const taskId = validateTaskId(request.taskId, "task_id");
      const pageSize = pageSizeOf(request.pageSize);
      const after = Number(decodePageToken(request.pageToken, taskId) ?? 0);
      if (!store.getRow(taskId)) throw taskNotFound(taskId);
      const rows = listTaskRuns(store.db, taskId, after, pageSize + 1);
      const runs = pagePrefix(rows, pageSize, (row) => row.run.length).map((row) => {
        const run = decodeRun(row.run);
        const live = deps.engine.liveOutput(run.id);
        return live ? { ...run, outputBytes: live.bytes, outputTruncated: live.truncated } : run;
      });
      return {
        runs,
        nextPageToken: rows.length > runs.length ? encodePageToken(String(runs.at(-1)!.attempt), taskId) : "",
      };
    }),

    cancelTask: unary(log, shutdown, async (request) => {
      const id = validateTaskId(request.id, "id");
      if (request.reason.length > 1024)
        throw invalidArgument([{ field: "reason", description: "at most 1024 characters" }]);
      return { task: await commits.run(() => cancelTask(store, id, request.reason)) };
    }),
  };
}
