import { credentials, Metadata } from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import {
  embedded,
  formatTraceparent,
  Runner,
  SupervisorClient,
  subprocess,
  TaskPhase,
  TaskServiceClient,
  TaskSpec,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";

// One provider for this file's process: the server, the runner and the client all trace through it.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

let server: TestServer;
let runner: Runner;
let client: SupervisorClient;
const seenInHandler: { traceparent: string; activeSpanId?: string }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  runner = new Runner({ address: server.address, name: "traced", capacity: 2, log: () => {} })
    .handle("traced-ok", (_payload, ctx) => {
      seenInHandler.push({ traceparent: ctx.traceparent, activeSpanId: trace.getActiveSpan()?.spanContext().spanId });
      return { ok: true };
    })
    .handle("traced-fail", () => {
      throw new Error("boom");
    });
  await runner.start();
  client = new SupervisorClient({ address: server.address });
});
afterAll(async () => {
  client?.close();
  await runner?.kill();
  await server?.close();
  await provider.shutdown();
});

/** Submits inside a client span, waits for the task's end; the spans of its trace. */
async function tracedTask(spec: Parameters<SupervisorClient["submit"]>[0]) {
  const tracer = trace.getTracer("test-client");
  const { task, clientSpan } = await tracer.startActiveSpan("client submit", async (span) => {
    const submitted = await client.submit(spec);
    span.end();
    return { task: submitted, clientSpan: span.spanContext() };
  });
  const ended = await client.waitFor(task.id);
  const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === clientSpan.traceId);
  return { task: ended, clientSpan, spans };
}

const named = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name);
  expect(
    found.map((span) => span.name),
    `one span named ${name}`,
  ).toEqual([name]);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("traces", () => {
  it("one task's span tree: client → submit → admission and dispatch → run, its status by outcome", async () => {
    const { task, clientSpan, spans } = await tracedTask(embedded("traced-ok", {}));
    expect(task.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const submit = named(spans, "supervisor.v1.TaskService/SubmitTask");
    const admission = named(spans, "admission");
    const dispatch = named(spans, "dispatch");
    const run = named(spans, "run embedded");
    expect(parentOf(submit)).toBe(clientSpan.spanId);
    expect(submit.kind).toBe(SpanKind.SERVER);
    expect(submit.attributes["supervisor.task_id"]).toBe(task.id);
    expect(parentOf(admission)).toBe(submit.spanContext().spanId);
    expect(parentOf(dispatch)).toBe(submit.spanContext().spanId);
    expect(dispatch.attributes["supervisor.task_id"]).toBe(task.id);
    expect(parentOf(run)).toBe(dispatch.spanContext().spanId);
    expect(run.attributes).toMatchObject({ "supervisor.task_id": task.id, "supervisor.outcome": "succeeded" });
    expect(run.status.code).toBe(SpanStatusCode.OK);
    // The task keeps the submit span's context; the handler ran inside the run span and was told its context.
    expect(task.traceparent).toBe(formatTraceparent(submit.spanContext()));
    expect(seenInHandler).toEqual([
      { traceparent: formatTraceparent(run.spanContext()), activeSpanId: run.spanContext().spanId },
    ]);
  });

  it("a failed run's span has status ERROR with the run's error", async () => {
    const { task, spans } = await tracedTask(embedded("traced-fail", {}));
    expect(task.status!.phase).toBe(TaskPhase.TASK_PHASE_FAILED);
    const run = named(spans, "run embedded");
    expect(run.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringContaining("boom") });
    expect(run.attributes["supervisor.outcome"]).toBe("failed");
  });

  it("a subprocess gets its run span's context as $TRACEPARENT", async () => {
    const { task, spans } = await tracedTask(subprocess("sh", ["-c", 'printf "%s" "$TRACEPARENT"']));
    expect(task.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const run = named(spans, "run subprocess");
    let printed = "";
    for await (const response of client.output(task.id)) {
      if (response.event?.$case === "chunk") printed += Buffer.from(response.event.value.data).toString();
    }
    expect(printed).toBe(formatTraceparent(run.spanContext()));
    expect(printed).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("a schedule's fire starts its task's trace: fire → dispatch → run", async () => {
    await client.schedules.create({ id: "traced-beat", spec: { cron: "@yearly" }, task: embedded("traced-ok", {}) });
    const fired = await client.schedules.trigger("traced-beat");
    const ended = await client.waitFor(fired.id);
    expect(ended.status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    const fire = exporter
      .getFinishedSpans()
      .find((span) => span.name === "schedule fire" && span.attributes["supervisor.task_id"] === fired.id);
    expect(fire, "the fire's span").toBeDefined();
    expect(fire!.kind).toBe(SpanKind.PRODUCER);
    expect(fire!.attributes["supervisor.schedule_id"]).toBe("traced-beat");
    expect(parentOf(fire!)).toBeUndefined();
    expect(ended.traceparent).toBe(formatTraceparent(fire!.spanContext()));
    const spans = exporter
      .getFinishedSpans()
      .filter((span) => span.spanContext().traceId === fire!.spanContext().traceId);
    const dispatch = named(spans, "dispatch");
    expect(parentOf(dispatch)).toBe(fire!.spanContext().spanId);
    expect(parentOf(named(spans, "run embedded"))).toBe(dispatch.spanContext().spanId);
  });

  it("a traceparent in SubmitTask's metadata parents the submit span; the task keeps that trace", async () => {
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const raw = new TaskServiceClient(server.address, credentials.createInsecure());
    onTestFinished(() => raw.close());
    const metadata = new Metadata();
    metadata.set("traceparent", parent);
    const spec = TaskSpec.fromPartial({ exec: { $case: "embedded", value: { handler: "traced-ok" } } });
    const submitted = await new Promise<string>((resolve, reject) =>
      raw.submitTask({ spec, requestId: "" }, metadata, (error, response) =>
        error ? reject(error) : resolve(response!.task!.traceparent),
      ),
    );
    // The server traces here: the stored context is its submit span's, a child in the caller's trace.
    expect(submitted).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    const submitSpan = exporter
      .getFinishedSpans()
      .find(
        (span) => span.spanContext().traceId === "0af7651916cd43dd8448eb211c80319c" && span.kind === SpanKind.SERVER,
      );
    expect(parentOf(submitSpan!)).toBe("b7ad6b7169203331");
  });
});
