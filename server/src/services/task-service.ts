import type { Context } from "@opentelemetry/api";
import { type BatchSubmitTasksRequest, MAX_BATCH_BYTES, type TaskServiceServer } from "@supervisor/sdk";
import type { Status } from "@supervisor/sdk/gen/google/rpc/status";
import type { Clock } from "../core/clock.js";
import type { ConcurrencyLimits } from "../core/concurrency.js";
import { explainTask } from "../core/explain.js";
import type { IdGenerator } from "../core/ids.js";
import { pagePrefix } from "../core/page-budget.js";
import type { RateLimits } from "../core/rate-limit.js";
import { isActive } from "../core/task-lifecycle.js";
import { DomainError, invalidArgument, type Logger, taskActive, taskNotFound } from "../errors.js";
import type { ExecutionEngine } from "../execution/engine.js";
import { explainInputs } from "../execution/explain-inputs.js";
import { streamTaskOutput } from "../output/stream-task-output.js";
import type { StorageBackend } from "../store/backend.js";
import { cancelMatching } from "../store/cancel-matching.js";
import type { SubmitParams, SubmitSettings } from "../store/decide/submit.js";
import { fanOutTargets } from "../store/fan-out-targets.js";
import type { GroupCommit } from "../store/group-commit.js";
import { listParams } from "../store/list-params.js";
import { batchSubmitWrite, cancelWrite, forRequest, submitStoredWrite } from "../store/writes.js";
import { inSpan, inSubmitSpan, traceparentOf } from "../tracing.js";
import { decodeNumberPageToken, decodePageToken, encodePageToken, pageSizeOf } from "../validation/page-token.js";
import {
  type ValidSubmit,
  validateBatch,
  validateCancelTasks,
  validateEach,
  validateFilter,
  validateRerun,
  validateRerunRequest,
  validateSubmit,
  validateTaskId,
} from "../validation/requests.js";
import type { SignaturePolicy } from "../validation/signature-policy.js";
import { type WatchSettings, watchTasks } from "../watch/watch-tasks.js";
import { type CallContext, serverStream, unary } from "./handlers.js";
import { batchBytesOf, batchSubmitTasksWire, listTasksWire, submitTaskWire } from "./task-service-definition.js";
import { rpcStatus } from "./to-status.js";

/**
 * The answer is every request's spec plus its task's status (≈ 200 bytes per task): a batch too
 * large for it is refused before anything is stored, not after a commit the caller could not read.
 */
function refuseOversizeBatch(request: BatchSubmitTasksRequest): void {
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
}

export interface TaskServiceDeps {
  backend: StorageBackend;
  commits: GroupCommit;
  ids: IdGenerator;
  submit: SubmitSettings;
  signatures: SignaturePolicy;
  watch: WatchSettings;
  engine: ExecutionEngine;
  log: Logger;
  shutdown: AbortSignal;
  /** The server's concurrency limits (config concurrencyLimits): max_running 0 needs one. */
  concurrencyLimits?: ConcurrencyLimits;
  /** ExplainTask's now (backoff and not_before still in force or not). */
  clock: Clock;
  /** The server's rate limits (config rateLimits): a rate limit with neither unit set needs one. */
  rateLimits?: RateLimits;
}

/** TaskService: validate → store → answer. No SQL and no status building here. */
export function taskServiceHandlers(deps: TaskServiceDeps): Partial<TaskServiceServer> {
  const { backend, commits, log, shutdown } = deps;
  const submitSettings = deps.submit;
  // The id is taken now (time-ordered); a replayed request_id answers with its original task instead.
  // A fan-out's runners are read first: the runners table, as the submit sees it.
  // The task keeps the trace it was submitted in: the submit span's (inSubmitSpan), passed along explicitly
  // (without an OpenTelemetry SDK there is no context manager to carry it).
  const submitParams = async ({ spec, requestId, specHash }: ValidSubmit, traceparent = ""): Promise<SubmitParams> => {
    const id = deps.ids.next();
    return { spec, requestId, specHash, id, fanOutRunnerIds: await fanOutTargets(backend, spec), traceparent };
  };
  const traceparentIn = (ctx: CallContext) => ctx.metadata.get("traceparent")[0]?.toString();
  /** The write of submits, in an admission span (a child of the submit span). */
  const admission = <T>(parent: Context, count: number, write: () => Promise<T>) =>
    inSpan("admission", parent, { attributes: { "supervisor.tasks": count } }, write);
  async function batchSubmit(request: BatchSubmitTasksRequest, trace: Context) {
    const traceparent = traceparentOf(trace);
    refuseOversizeBatch(request);
    if (request.returnPartialSuccess) {
      // Each on its own: one write per submit, queued in one go so they share a group commit,
      // where a refusal drops only its own changes. Each answer is what SubmitTask would give.
      const outcomes = await admission(trace, request.requests.length, () =>
        Promise.allSettled(
          validateEach(request, deps.concurrencyLimits, deps.rateLimits).map(async (submit) => {
            if (submit instanceof DomainError) throw submit;
            deps.signatures.check(submit.spec);
            return commits.run(submitStoredWrite(await submitParams(submit, traceparent), submitSettings));
          }),
        ),
      );
      const tasks: Uint8Array[] = [];
      const failedRequests: Record<number, Status> = {};
      outcomes.forEach((outcome, index) => {
        if (outcome.status === "fulfilled") tasks.push(outcome.value.encoded);
        else failedRequests[index] = rpcStatus(outcome.reason, log);
      });
      return batchSubmitTasksWire(tasks, failedRequests);
    }
    const submits = validateBatch(request, deps.concurrencyLimits, deps.rateLimits);
    submits.forEach(({ spec }, index) => {
      forRequest(index, () => deps.signatures.check(spec, `requests[${index}].spec`));
    });
    // All or nothing: the first refusal undoes every submit of the batch.
    const params = await Promise.all(submits.map((submit) => submitParams(submit, traceparent)));
    const stored = await admission(trace, params.length, () => commits.run(batchSubmitWrite(params, submitSettings)));
    return batchSubmitTasksWire(stored.map((task) => task.encoded));
  }

  return {
    submitTask: unary(log, shutdown, (request, ctx) =>
      inSubmitSpan("SubmitTask", traceparentIn(ctx), async (span, trace) => {
        const submit = validateSubmit(request, deps.concurrencyLimits, deps.rateLimits);
        deps.signatures.check(submit.spec);
        const params = await submitParams(submit, traceparentOf(trace));
        span.setAttribute("supervisor.task_id", params.id);
        const stored = await admission(trace, 1, () => commits.run(submitStoredWrite(params, submitSettings)));
        return submitTaskWire(stored.encoded);
      }),
    ),

    batchSubmitTasks: unary(log, shutdown, (request, ctx) =>
      inSubmitSpan("BatchSubmitTasks", traceparentIn(ctx), (_span, trace) => batchSubmit(request, trace)),
    ),

    getTask: unary(log, shutdown, async (request) => {
      const id = validateTaskId(request.id, "id");
      const stored = await backend.getTask(id);
      if (!stored) throw taskNotFound(id);
      return { task: stored.task };
    }),

    explainTask: unary(log, shutdown, async (request) => {
      const id = validateTaskId(request.id, "id");
      const stored = await backend.getTask(id);
      if (!stored) throw taskNotFound(id);
      const limits = deps.concurrencyLimits ?? new Map();
      const sources = { backend, engine: deps.engine, limits, rates: deps.rateLimits ?? new Map(), clock: deps.clock };
      return { task: stored.task, ...explainTask(await explainInputs(sources, stored)) };
    }),

    listTasks: unary(log, shutdown, async (request) => {
      const filter = validateFilter(request.filter);
      const pageSize = pageSizeOf(request.pageSize);
      const before = decodePageToken(request.pageToken, filter.key);
      // The page and its revision come from one snapshot: the page is exactly that revision.
      const page = await backend.listTasks(listParams(filter, before, pageSize));
      const nextPageToken = page.nextBeforeId ? encodePageToken(page.nextBeforeId, filter.key) : "";
      return listTasksWire(
        page.items.map((item) => item.encoded),
        nextPageToken,
        page.revision,
      );
    }),

    watchTasks: serverStream(log, shutdown, (request, ctx) => {
      if (request.sinceRevision < 0)
        throw invalidArgument([{ field: "since_revision", description: "must not be negative" }]);
      const filter = validateFilter(request.filter);
      return watchTasks(backend, request, filter, ctx.signal, deps.watch);
    }),

    streamTaskOutput: serverStream(log, shutdown, (request, ctx) => {
      validateTaskId(request.taskId, "task_id");
      const violations = [];
      if (request.attempt < 0)
        violations.push({ field: "attempt", description: "must not be negative (0 = the latest)" });
      if (request.sinceSeq < 0) violations.push({ field: "since_seq", description: "must not be negative" });
      if (violations.length > 0) throw invalidArgument(violations);
      return streamTaskOutput(backend, deps.engine.outputs, request, ctx.signal);
    }),

    listTaskRuns: unary(log, shutdown, async (request) => {
      const taskId = validateTaskId(request.taskId, "task_id");
      const pageSize = pageSizeOf(request.pageSize);
      const after = decodeNumberPageToken(request.pageToken, taskId);
      if (!(await backend.getTask(taskId))) throw taskNotFound(taskId);
      const rows = await backend.listTaskRuns(taskId, after, pageSize + 1);
      const runs = pagePrefix(rows, pageSize, (row) => row.encodedBytes).map(({ run }) => {
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
      return { task: await commits.run(cancelWrite(id, request.reason)) };
    }),

    cancelTasks: unary(log, shutdown, async (request, ctx) => {
      const { filter, reason, dryRun } = validateCancelTasks(request);
      return cancelMatching(backend, commits, filter, { reason, dryRun, signal: ctx.signal });
    }),

    rerunTask: unary(log, shutdown, async (request) => {
      const id = validateRerunRequest(request);
      const stored = await backend.getTask(id);
      if (!stored) throw taskNotFound(id);
      const phase = stored.task.status!.phase;
      if (isActive(phase)) throw taskActive(id, phase);
      const rerun = validateRerun(stored.task, request.requestId);
      deps.signatures.check(rerun.spec);
      const params = { ...(await submitParams(rerun)), rerunOf: rerun.rerunOf };
      return { task: (await commits.run(submitStoredWrite(params, submitSettings))).task };
    }),
  };
}
