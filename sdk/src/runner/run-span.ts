import { type Context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ExecutionResult } from "../executors/types.js";
import type { ConnectResponse_Assign } from "../gen/supervisor/v1/runner_service.js";
import { contextFromTraceparent, traceparentOf } from "../trace-context.js";

export interface RunSpan {
  /** The run span's traceparent (the assign's when no OpenTelemetry SDK records spans); "" = no trace. */
  traceparent: string;
  context: Context;
  end(result: ExecutionResult): void;
}

const NO_TRACE: RunSpan = { traceparent: "", context: ROOT_CONTEXT, end: () => {} };

/**
 * The span of one run on this runner: a child of the assign's traceparent (the server's dispatch span),
 * ended with the run's outcome. A task without a trace gets none.
 */
export function runSpan(assign: ConnectResponse_Assign): RunSpan {
  if (!assign.traceparent) return NO_TRACE;
  const parent = contextFromTraceparent(assign.traceparent, ROOT_CONTEXT);
  const kind = assign.spec?.exec?.$case ?? "unknown";
  const span = trace.getTracer("supervisor-runner").startSpan(
    `run ${kind}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "supervisor.task_id": assign.taskId,
        "supervisor.run_id": assign.runId,
        "supervisor.attempt": assign.attempt,
      },
    },
    parent,
  );
  const context = trace.setSpan(parent, span);
  return {
    traceparent: traceparentOf(context) || assign.traceparent,
    context,
    end(result) {
      span.setAttribute("supervisor.outcome", result.outcome);
      if (result.exitCode !== undefined) span.setAttribute("process.exit.code", result.exitCode);
      span.setStatus(
        result.outcome === "succeeded"
          ? { code: SpanStatusCode.OK }
          : { code: SpanStatusCode.ERROR, message: result.error || result.outcome },
      );
      span.end();
    },
  };
}
