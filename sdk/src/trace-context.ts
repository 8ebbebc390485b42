import { type Context, ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";

/** W3C trace context, version 00: https://www.w3.org/TR/trace-context/#traceparent-header */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = /^0+$/;

/** The traceparent of a span context, or "" for an invalid one (no trace). */
export function formatTraceparent(span: SpanContext | undefined): string {
  if (!span || !trace.isSpanContextValid(span)) return "";
  const flags = (span.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0");
  return `00-${span.traceId}-${span.spanId}-${flags}`;
}

/** A remote span context from a traceparent; undefined if it is empty or malformed (it is then ignored). */
export function parseTraceparent(text: string | undefined): SpanContext | undefined {
  const match = TRACEPARENT.exec(text?.trim() ?? "");
  if (!match || INVALID_TRACE.test(match[1]!) || INVALID_TRACE.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true };
}

/** `base` with the traceparent's span as its parent (base itself when there is none). */
export function contextFromTraceparent(text: string | undefined, base: Context = ROOT_CONTEXT): Context {
  const parent = parseTraceparent(text);
  return parent ? trace.setSpanContext(base, parent) : base;
}

/** The traceparent of a context's span ("" when it has none). */
export const traceparentOf = (context: Context): string => formatTraceparent(trace.getSpanContext(context));
