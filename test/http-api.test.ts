import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { status } from "@grpc/grpc-js";
import { ErrorReason, Runner } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorInfoOf, expectHttpError, http, type Json, readNdjson, readSse } from "./helpers/http.js";
import { waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
let base: string;
let runner: Runner;
let runnerId: string;
beforeAll(async () => {
  server = await startTestServer({ httpListen: "127.0.0.1:0" });
  base = server.server.httpUrl!;
  runner = new Runner({
    address: server.address,
    name: "http-runner",
    labels: { pool: "http" },
    capacity: 2,
    log: () => {},
  });
  runnerId = await runner.start();
});
afterAll(async () => {
  await runner?.stop();
  await server?.close();
});

const UNKNOWN_ID = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";
const onRunner = { matchLabels: { pool: "http" } };
/** A selector no runner matches: the task stays PENDING. */
const nowhere = { matchLabels: { pool: "nowhere" } };
const echo = (text: string, extra: Json = {}) => ({
  subprocess: { command: "echo", args: [text] },
  runnerSelector: onRunner,
  ...extra,
});

async function submit(spec: Json, requestId = ""): Promise<Json> {
  const answer = await http(base, "POST", "/v1/tasks", { body: { spec, requestId } });
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  return answer.json.task;
}

const finished = (id: string) => waitForTask(server.tasks, id);

describe("tasks over HTTP", () => {
  it("POST /v1/tasks stores a task (proto JSON: camelCase, int64 as strings); the same requestId returns it again", async () => {
    const requestId = randomUUID();
    const task = await submit(echo("hi", { labels: { suite: "submit" } }), requestId);
    expect(task).toMatchObject({ spec: { subprocess: { command: "echo", args: ["hi"] }, timeout: "60s" }, requestId });
    expect(typeof task.revision).toBe("string");
    expect((await submit(echo("hi", { labels: { suite: "submit" } }), requestId)).id).toBe(task.id);
    const reused = await http(base, "POST", "/v1/tasks", { body: { spec: echo("other"), requestId } });
    expectHttpError(reused, 409, status.ALREADY_EXISTS, ErrorReason.REQUEST_ID_REUSED);
    const got = await http(base, "GET", `/v1/tasks/${task.id}`);
    expect(got.status).toBe(200);
    expect(got.json.task.id).toBe(task.id);
  });

  it("GET /v1/tasks filters by label_selector (proto or JSON names) and phases, and pages with page_token", async () => {
    const suite = `list-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await submit({ subprocess: { command: "true" }, runnerSelector: nowhere, labels: { suite } })).id);
    }
    const selector = encodeURIComponent(`suite=${suite}`);
    const first = await http(base, "GET", `/v1/tasks?page_size=2&filter.label_selector=${selector}`);
    expect(first.status).toBe(200);
    expect(first.json.tasks.map((t: Json) => t.id)).toEqual([ids[2], ids[1]]);
    expect(first.json.nextPageToken).toBeTruthy();
    const token = encodeURIComponent(first.json.nextPageToken);
    const second = await http(base, "GET", `/v1/tasks?pageSize=2&filter.labelSelector=${selector}&pageToken=${token}`);
    expect(second.json.tasks.map((t: Json) => t.id)).toEqual([ids[0]]);
    expect(second.json.nextPageToken).toBeUndefined();
    // A repeated parameter is a repeated field; an enum by name.
    const phases = "filter.phases=TASK_PHASE_SUCCEEDED&filter.phases=TASK_PHASE_PENDING";
    const pending = await http(base, "GET", `/v1/tasks?${phases}&filter.label_selector=${selector}`);
    expect(pending.json.tasks).toHaveLength(3);
    const none = await http(base, "GET", `/v1/tasks?filter.phases=TASK_PHASE_FAILED&filter.label_selector=${selector}`);
    expect(none.json.tasks ?? []).toEqual([]);
    // The token is bound to its filter, as over gRPC.
    const other = await http(base, "GET", `/v1/tasks?page_size=2&page_token=${token}`);
    expectHttpError(other, 400, status.INVALID_ARGUMENT, ErrorReason.PAGE_TOKEN_INVALID);
  });

  it("POST /v1/tasks:batchSubmit stores every request", async () => {
    const answer = await http(base, "POST", "/v1/tasks:batchSubmit", {
      body: { requests: [{ spec: echo("one") }, { spec: echo("two") }] },
    });
    expect(answer.status).toBe(200);
    expect(answer.json.tasks.map((t: Json) => t.spec.subprocess.args[0])).toEqual(["one", "two"]);
  });

  it("runs, output (SSE and NDJSON), rerun and cancel of a finished task", async () => {
    const task = await submit(echo("hello http"));
    await finished(task.id);
    const runs = await http(base, "GET", `/v1/tasks/${task.id}/runs`);
    expect(runs.status).toBe(200);
    expect(runs.json.runs).toEqual([expect.objectContaining({ attempt: 1, runnerId, phase: "RUN_PHASE_SUCCEEDED" })]);

    const sse = await fetch(`${base}/v1/tasks/${task.id}/output`);
    expect(sse.headers.get("content-type")).toBe("text/event-stream");
    const events = await readSse(sse, () => false);
    const chunks = events.filter((e) => e.data.chunk);
    expect(Buffer.from(chunks.map((e) => e.data.chunk.data).join(""), "base64").toString()).toBe("hello http\n");
    expect(chunks[0]!.id).toBe(chunks[0]!.data.chunk.seq); // the resume position
    expect(events.at(-1)).toEqual({ event: "end", data: {} });

    const ndjson = await fetch(`${base}/v1/tasks/${task.id}/output`, { headers: { accept: "application/x-ndjson" } });
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = await readNdjson(ndjson, () => false);
    expect(lines.every((line) => line.result)).toBe(true);
    expect(lines.some((line) => line.result.chunk)).toBe(true);

    const rerun = await http(base, "POST", `/v1/tasks/${task.id}:rerun`, { body: { requestId: randomUUID() } });
    expect(rerun.status).toBe(200);
    expect(rerun.json.task.rerunOf).toBe(task.id);
    await finished(rerun.json.task.id);

    const cancel = await http(base, "POST", `/v1/tasks/${task.id}:cancel`, { body: { reason: "too late" } });
    const terminal = expectHttpError(cancel, 400, status.FAILED_PRECONDITION, ErrorReason.TASK_TERMINAL);
    expect(errorInfoOf(terminal).metadata).toMatchObject({ task_id: task.id, phase: "TASK_PHASE_SUCCEEDED" });
  });

  it("output of a task that has none: 404 OUTPUT_NOT_FOUND before any event", async () => {
    const task = await submit({ subprocess: { command: "true" }, runnerSelector: nowhere });
    const answer = await http(base, "GET", `/v1/tasks/${task.id}/output`);
    expectHttpError(answer, 404, status.NOT_FOUND, ErrorReason.OUTPUT_NOT_FOUND);
  });

  it("POST /v1/tasks/{id}:cancel cancels a pending task, and again is OK; POST /v1/tasks:cancel dry_run only counts", async () => {
    const suite = `cancel-${randomUUID().slice(0, 8)}`;
    const spec = { subprocess: { command: "true" }, runnerSelector: nowhere, labels: { suite } };
    const one = await submit(spec);
    await submit(spec);
    const filter = { labelSelector: `suite=${suite}` };
    const dry = await http(base, "POST", "/v1/tasks:cancel", { body: { filter, dryRun: true } });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ matched: "2", taskIds: expect.any(Array) });
    expect(dry.json.canceled).toBeUndefined(); // 0: proto JSON leaves it out
    const canceled = await http(base, "POST", `/v1/tasks/${one.id}:cancel`, { body: { reason: "by http" } });
    expect(canceled.json.task.status.phase).toBe("TASK_PHASE_CANCELED");
    const again = await http(base, "POST", `/v1/tasks/${one.id}:cancel`); // no body at all is fine
    expect(again.status).toBe(200);
    const rest = await http(base, "POST", "/v1/tasks:cancel", { body: { filter } });
    expect(rest.json).toMatchObject({ matched: "1", canceled: "1" });
  });

  it("GET /v1/tasks/{id}:explain answers the explanation, or 501 NOT_IMPLEMENTED where it is not built", async () => {
    const task = await submit({ subprocess: { command: "true" }, runnerSelector: nowhere });
    const answer = await http(base, "GET", `/v1/tasks/${task.id}:explain`);
    if (answer.status === 200) expect(answer.json.task.id).toBe(task.id);
    else expectHttpError(answer, 501, status.UNIMPLEMENTED, ErrorReason.NOT_IMPLEMENTED);
  });
});

describe("GET /v1/tasks:watch", () => {
  it("streams SSE events whose id is the revision; a reconnect with Last-Event-ID resumes after it", async () => {
    const suite = `watch-${randomUUID().slice(0, 8)}`;
    const query = `filter.label_selector=${encodeURIComponent(`suite=${suite}`)}`;
    const spec = { subprocess: { command: "true" }, runnerSelector: nowhere, labels: { suite } };
    const controller = new AbortController();
    const first = await fetch(`${base}/v1/tasks:watch?${query}`, { signal: controller.signal });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("text/event-stream");
    const reading = readSse(first, (events) => events.some((e) => e.data.type === "EVENT_TYPE_ADDED"));
    // The first BOOKMARK says the stream is live; submit after the headers came, so the event is ours.
    const a = await submit(spec);
    const seen = await reading;
    controller.abort();
    const added = seen.find((e) => e.data.type === "EVENT_TYPE_ADDED")!;
    expect(added.data.task.id).toBe(a.id);
    expect(added.id).toBe(added.data.revision);

    const b = await submit(spec);
    const resumed = await fetch(`${base}/v1/tasks:watch?${query}&send_initial=true`, {
      headers: { "last-event-id": added.id! },
    });
    const after = await readSse(resumed, (events) => events.some((e) => e.data.type === "EVENT_TYPE_BOOKMARK"));
    const tasks = after.filter((e) => e.data.task).map((e) => e.data.task.id);
    // send_initial is dropped for a resume: exactly what came after the last event seen, no repeat.
    expect(tasks).toEqual([b.id]);
  });

  it("NDJSON with Accept: application/x-ndjson; a compacted or bad revision is an error before the stream", async () => {
    const response = await fetch(`${base}/v1/tasks:watch?send_initial=true&page_size=1`, {
      headers: { accept: "application/x-ndjson" },
    });
    // page_size is not a field of WatchTasksRequest.
    expect(response.status).toBe(400);
    const lines = await fetch(`${base}/v1/tasks:watch`, { headers: { accept: "application/x-ndjson" } });
    const [bookmark] = await readNdjson(lines, (l) => l.length >= 1);
    expect(bookmark.result.type).toBe("EVENT_TYPE_BOOKMARK");
    const negative = await http(base, "GET", "/v1/tasks:watch?since_revision=-1");
    expect(negative.json.details[1].fieldViolations[0].field).toBe("since_revision");
    expectHttpError(negative, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
  });
});

describe("schedules, dispatch pauses and runners over HTTP", () => {
  it("schedules: create, get, list, update with update_mask, pause, unpause, trigger, delete", async () => {
    const id = `http-${randomUUID().slice(0, 8)}`;
    const schedule = {
      id,
      spec: { interval: "3600s" },
      task: { subprocess: { command: "true" } },
      labels: { suite: id },
    };
    const created = await http(base, "POST", "/v1/schedules", { body: schedule });
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    expect(created.json.schedule).toMatchObject({ id, spec: { interval: "3600s" } });
    const taken = await http(base, "POST", "/v1/schedules", { body: schedule });
    expectHttpError(taken, 409, status.ALREADY_EXISTS, ErrorReason.SCHEDULE_EXISTS);
    expect((await http(base, "GET", `/v1/schedules/${id}`)).json.schedule.id).toBe(id);
    const listed = await http(base, "GET", `/v1/schedules?label_selector=${encodeURIComponent(`suite=${id}`)}`);
    expect(listed.json.schedules.map((s: Json) => s.id)).toEqual([id]);
    const updated = await http(base, "PATCH", `/v1/schedules/${id}?update_mask=note`, { body: { note: "patched" } });
    expect(updated.status, JSON.stringify(updated.json)).toBe(200);
    expect(updated.json.schedule).toMatchObject({ id, note: "patched", spec: { interval: "3600s" } });
    expect((await http(base, "POST", `/v1/schedules/${id}:pause`, { body: {} })).json.schedule.paused).toBe(true);
    expect((await http(base, "POST", `/v1/schedules/${id}:unpause`)).json.schedule.paused).toBeUndefined();
    const fired = await http(base, "POST", `/v1/schedules/${id}:trigger`, { body: { requestId: randomUUID() } });
    expect(fired.status).toBe(200);
    expect(fired.json.task.spec.trigger).toBe("TRIGGER_SCHEDULE");
    expect((await http(base, "DELETE", `/v1/schedules/${id}`)).json).toEqual({});
    const gone = await http(base, "GET", `/v1/schedules/${id}`);
    expectHttpError(gone, 404, status.NOT_FOUND, ErrorReason.SCHEDULE_NOT_FOUND);
  });

  it("dispatch pauses: create, list, delete (= resume); unknown: 404", async () => {
    const id = `http-${randomUUID().slice(0, 8)}`;
    const created = await http(base, "POST", "/v1/dispatchPauses", {
      body: { id, slot: "nothing-here", note: "test" },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    expect(created.json.pause).toMatchObject({ id, slot: "nothing-here" });
    const listed = await http(base, "GET", "/v1/dispatchPauses");
    expect(listed.json.pauses.map((p: Json) => p.id)).toContain(id);
    expect((await http(base, "DELETE", `/v1/dispatchPauses/${id}`)).json.pause.id).toBe(id);
    const again = await http(base, "DELETE", `/v1/dispatchPauses/${id}`);
    expectHttpError(again, 404, status.NOT_FOUND, ErrorReason.DISPATCH_PAUSE_NOT_FOUND);
  });

  it("runners: list by label selector, drain, undrain; a connected one cannot be deleted", async () => {
    const listed = await http(base, "GET", `/v1/runners?label_selector=${encodeURIComponent("pool=http")}`);
    expect(listed.json.runners).toEqual([expect.objectContaining({ id: runnerId, name: "http-runner" })]);
    const drained = await http(base, "POST", `/v1/runners/${runnerId}:drain`);
    expect(drained.json.runner.state).toBe("RUNNER_STATE_DRAINING");
    const undrained = await http(base, "POST", `/v1/runners/${runnerId}:undrain`, { body: {} });
    expect(undrained.json.runner.state).toBe("RUNNER_STATE_CONNECTED");
    const removed = await http(base, "DELETE", `/v1/runners/${runnerId}`);
    expectHttpError(removed, 400, status.FAILED_PRECONDITION, ErrorReason.RUNNER_CONNECTED);
    const unknown = await http(base, "POST", `/v1/runners/${UNKNOWN_ID}:drain`);
    expectHttpError(unknown, 404, status.NOT_FOUND, ErrorReason.RUNNER_NOT_FOUND);
  });
});

/** A raw HTTP/1.1 request, for headers fetch will not let a caller set (Host). */
function rawRequest(path: string, headers: Record<string, string>): Promise<{ status: number; json: Json }> {
  const url = new URL(base + path);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, path, headers }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, json: JSON.parse(text) }));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("errors over HTTP", () => {
  it("unknown id: 404 TASK_NOT_FOUND; a bad id: 400 with the field in BadRequest", async () => {
    expectHttpError(
      await http(base, "GET", `/v1/tasks/${UNKNOWN_ID}`),
      404,
      status.NOT_FOUND,
      ErrorReason.TASK_NOT_FOUND,
    );
    const bad = await http(base, "GET", "/v1/tasks/not-an-id");
    const body = expectHttpError(bad, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(body.details[1]).toMatchObject({
      "@type": "type.googleapis.com/google.rpc.BadRequest",
      fieldViolations: [{ field: "id" }],
    });
    const noCommand = await http(base, "POST", "/v1/tasks", { body: { spec: { subprocess: {} } } });
    const violations = expectHttpError(noCommand, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST).details[1];
    expect(violations.fieldViolations.map((v: Json) => v.field)).toContain("spec.subprocess.command");
  });

  it("a body that is not JSON, or names an unknown field, or is not declared JSON: 400 / 415", async () => {
    const garbage = await http(base, "POST", "/v1/tasks", { body: "{not json" });
    const body = expectHttpError(garbage, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(body.details[1].fieldViolations[0].field).toBe("(request body)");
    const unknown = await http(base, "POST", "/v1/tasks", { body: { spec: echo("x"), colour: "red" } });
    expect(expectHttpError(unknown, 400, 3, ErrorReason.INVALID_REQUEST).message).toContain("colour");
    const text = await http(base, "POST", "/v1/tasks", { body: "{}", headers: { "content-type": "text/plain" } });
    expectHttpError(text, 415, status.INVALID_ARGUMENT, ErrorReason.UNSUPPORTED_MEDIA_TYPE);
    // A route whose rule has no body takes none (DELETE: fields in the path and the query).
    const withBody = await http(base, "DELETE", "/v1/dispatchPauses/some-pause", { body: { id: "other" } });
    const noBody = expectHttpError(withBody, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(noBody.details[1].fieldViolations[0].field).toBe("(request body)");
  });

  it("query parameters: unknown, on a body-* route, for a path field, a bad bool: 400 naming each", async () => {
    const answer = await http(
      base,
      "GET",
      `/v1/tasks/${UNKNOWN_ID}/output?follow=maybe&attempt=x&colour=red&task_id=y`,
    );
    const body = expectHttpError(answer, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(body.details[1].fieldViolations.map((v: Json) => v.field).sort()).toEqual([
      "attempt",
      "colour",
      "follow",
      "task_id",
    ]);
    // An int64 past 2^53 converts, but the handlers' decoder refuses it, exactly as over gRPC.
    const huge = await http(base, "GET", "/v1/tasks:watch?since_revision=9007199254740993");
    const undecodable = expectHttpError(huge, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(undecodable.details[1].fieldViolations[0].field).toBe("(request body)");
    const onBody = await http(base, "POST", "/v1/tasks?request_id=x", { body: { spec: echo("x") } });
    expectHttpError(onBody, 400, status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
  });

  it("unknown route: 404 ROUTE_NOT_FOUND; wrong method: 405 with Allow", async () => {
    expectHttpError(await http(base, "GET", "/v1/nothing"), 404, status.NOT_FOUND, ErrorReason.ROUTE_NOT_FOUND);
    // Outside /v1 a GET is the dashboard's (dashboard-serving.test.ts); any other method is still the API's.
    expectHttpError(await http(base, "POST", "/"), 404, status.NOT_FOUND, ErrorReason.ROUTE_NOT_FOUND);
    const wrong = await http(base, "DELETE", "/v1/tasks");
    expectHttpError(wrong, 405, status.UNIMPLEMENTED, ErrorReason.METHOD_NOT_ALLOWED);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
    // A verb route owns its path: GET on :cancel is no GetTask of "<id>:cancel".
    const verb = await http(base, "GET", `/v1/tasks/${UNKNOWN_ID}:cancel`);
    expectHttpError(verb, 405, status.UNIMPLEMENTED, ErrorReason.METHOD_NOT_ALLOWED);
  });

  it("a body over 4 MiB: 413 REQUEST_TOO_LARGE, nothing stored", async () => {
    const big = JSON.stringify({ spec: echo("x".repeat(4 * 1024 * 1024 + 1)) });
    const answer = await http(base, "POST", "/v1/tasks", { body: big });
    const body = expectHttpError(answer, 413, status.RESOURCE_EXHAUSTED, ErrorReason.REQUEST_TOO_LARGE);
    expect(errorInfoOf(body).metadata.limit_bytes).toBe(String(4 * 1024 * 1024));
  });

  it("a page of another origin, or (auth off) a Host that is not loopback: 403 ORIGIN_FORBIDDEN", async () => {
    const foreign = await http(base, "POST", "/v1/tasks", {
      body: { spec: echo("csrf") },
      headers: { origin: "http://evil.example" },
    });
    expectHttpError(foreign, 403, status.PERMISSION_DENIED, ErrorReason.ORIGIN_FORBIDDEN);
    const sameOrigin = await http(base, "GET", "/v1/tasks?page_size=1", { headers: { origin: base } });
    expect(sameOrigin.status).toBe(200);
    const rebound = await rawRequest("/v1/tasks", { host: `evil.example:${new URL(base).port}` });
    expect({ status: rebound.status, reason: errorInfoOf(rebound.json).reason }).toEqual({
      status: 403,
      reason: ErrorReason.ORIGIN_FORBIDDEN,
    });
  });
});
