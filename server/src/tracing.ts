import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { contextFromTraceparent, traceparentOf } from "@supervisor/sdk";

/**
 * The server's spans (docs/tracing.md). Through the OpenTelemetry API only: without an SDK registered
 * (server/src/tracing-export.ts does when OTEL_* asks for it) they are no-ops that still carry the
 * caller's trace context along.
 */
const tracer = () => trace.getTracer("supervisor-server");

/** Runs `work` in a span that ends with it (ERROR with the exception when it throws). */
export async function inSpan<T>(
  name: string,
  parent: Context,
  options: { kind?: SpanKind; attributes?: Attributes },
  work: (span: Span, spanContext: Context) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(name, options, parent);
  const spanContext = trace.setSpan(parent, span);
  try {
    return await context.with(spanContext, () => work(span, spanContext));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** The server span of a SubmitTask / BatchSubmitTasks call, a child of the caller's `traceparent` metadata. */
export function inSubmitSpan<T>(
  method: string,
  traceparent: string | undefined,
  work: (span: Span, spanContext: Context) => Promise<T>,
): Promise<T> {
  const parent = contextFromTraceparent(traceparent, ROOT_CONTEXT);
  return inSpan(`supervisor.v1.TaskService/${method}`, parent, { kind: SpanKind.SERVER }, work);
}

/**
 * The dispatch span of an assign (a child of the task's trace), ended as the assign is sent; the
 * traceparent the runner's run span is a child of. No trace on the task: no span, "".
 */
export function dispatchSpan(taskTraceparent: string, attributes: Attributes): string {
  if (!taskTraceparent) return "";
  const parent = contextFromTraceparent(taskTraceparent, ROOT_CONTEXT);
  const span = tracer().startSpan("dispatch", { kind: SpanKind.PRODUCER, attributes }, parent);
  const traceparent = traceparentOf(trace.setSpan(parent, span)) || taskTraceparent;
  span.end();
  return traceparent;
}

export { traceparentOf };
