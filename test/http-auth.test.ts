import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { request as httpsRequest } from "node:https";
import { status } from "@grpc/grpc-js";
import { ErrorReason } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { DEV_HTTP_LISTEN, loadConfig } from "../server/src/config.js";
import { startServer } from "../server/src/server.js";
import { storeForTest } from "./helpers/backend.js";
import { type Certificates, makeCertificates } from "./helpers/certs.js";
import { expectHttpError, http } from "./helpers/http.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

const TOKENS = { operator: "operator-token-0123456789abcdef", readonly: "readonly-token-0123456789abcdef" };
const tokens = JSON.stringify([
  { name: "ops", role: "operator", token: TOKENS.operator },
  { name: "dash", role: "readonly", token: TOKENS.readonly },
]);
const spec = { subprocess: { command: "true" }, runnerSelector: { matchLabels: { pool: "nowhere" } } };

describe("HTTP API with authentication on", () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer({ tokens, httpListen: "127.0.0.1:0" });
    base = server.server.httpUrl!;
  });
  afterAll(() => server?.close());

  it("no token: 401 UNAUTHENTICATED / TOKEN_MISSING with WWW-Authenticate; a wrong one: TOKEN_INVALID", async () => {
    const missing = await http(base, "GET", "/v1/tasks");
    expectHttpError(missing, 401, status.UNAUTHENTICATED, ErrorReason.TOKEN_MISSING);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="supervisor"');
    const wrong = await http(base, "GET", "/v1/tasks", { token: "not-a-token-0123456789" });
    expectHttpError(wrong, 401, status.UNAUTHENTICATED, ErrorReason.TOKEN_INVALID);
  });

  it("Authorization: Bearer gets the token's role: readonly reads, but its cancel is 403 PERMISSION_DENIED", async () => {
    const submitted = await http(base, "POST", "/v1/tasks", { body: { spec }, token: TOKENS.operator });
    expect(submitted.status).toBe(200);
    const id = submitted.json.task.id;
    const read = await http(base, "GET", `/v1/tasks/${id}`, { token: TOKENS.readonly });
    expect(read.json.task.id).toBe(id);
    const cancel = await http(base, "POST", `/v1/tasks/${id}:cancel`, { token: TOKENS.readonly });
    const body = expectHttpError(cancel, 403, status.PERMISSION_DENIED, ErrorReason.ROLE_FORBIDDEN);
    expect(body.details[0].metadata).toEqual({ role: "readonly", method: "supervisor.v1.TaskService/CancelTask" });
    const submit = await http(base, "POST", "/v1/tasks", { body: { spec }, token: TOKENS.readonly });
    expectHttpError(submit, 403, status.PERMISSION_DENIED, ErrorReason.ROLE_FORBIDDEN);
    // A stream is guarded too, before its headers.
    const watch = await http(base, "GET", "/v1/tasks:watch");
    expectHttpError(watch, 401, status.UNAUTHENTICATED, ErrorReason.TOKEN_MISSING);
  });

  it("with tokens, a Host that is not loopback is served (a token, not the Host, guards it)", async () => {
    const answer = await http(base, "GET", "/v1/runners", { token: TOKENS.readonly, headers: { origin: base } });
    expect(answer.status).toBe(200);
  });
});

/** An HTTPS GET trusting `ca`, with a client certificate when given. */
function httpsGet(
  url: string,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { ...tls }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("HTTP API over TLS", () => {
  let certs: Certificates;
  beforeAll(() => {
    certs = makeCertificates();
  });
  afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

  it("with the gRPC server's certificate, and its client CA (mutual TLS): https only, client certificate required", async () => {
    const server = await startTestServer({
      tlsCert: certs.serverCert,
      tlsKey: certs.serverKey,
      tlsClientCa: certs.ca,
      httpListen: "127.0.0.1:0",
    });
    onTestFinished(() => server.close());
    const url = server.server.httpUrl!;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(certs.ca);
    const client = { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
    const answer = await httpsGet(`${url}/v1/tasks?page_size=1`, client);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({}); // no tasks yet, revision 0: proto JSON leaves both out
    await expect(httpsGet(`${url}/v1/tasks`, { ca })).rejects.toThrow();
    const stranger = { ca, cert: readFileSync(certs.strangerCert), key: readFileSync(certs.strangerKey) };
    await expect(httpsGet(`${url}/v1/tasks`, stranger)).rejects.toThrow();
  });
});

describe("httpListen", () => {
  it("is off by default; dev's default taken, the server takes a free port and says so; an address asked for is a must", async () => {
    expect(loadConfig({}).httpListen).toBeUndefined();
    expect(loadConfig({ flags: { httpListen: "off" } }).httpListen).toBeUndefined();
    expect(() => loadConfig({ flags: { httpListen: "8080" } })).toThrow('--http-listen: host:port, or "off"');
    expect(() => loadConfig({ flags: { httpListen: "0.0.0.0:8080" } })).toThrow(
      "refusing to serve the HTTP API on 0.0.0.0:8080 without authentication",
    );
    expect(loadConfig({ defaults: { httpListen: DEV_HTTP_LISTEN } }).httpListenFallback).toBe(true);
    expect(loadConfig({ flags: { httpListen: DEV_HTTP_LISTEN } }).httpListenFallback).toBe(false);

    const occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, "127.0.0.1", () => resolve()));
    onTestFinished(() => new Promise<void>((resolve) => occupier.close(() => resolve())));
    const taken = `127.0.0.1:${(occupier.address() as { port: number }).port}`;
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = await storeForTest(dir);
    const lines: string[] = [];
    const flags = { listen: "127.0.0.1:0", db, metricsListen: "off" };
    // As dev's default (not asked for): a free port instead, with a warning.
    const fallback = loadConfig({ flags, defaults: { httpListen: taken } });
    const started = await startServer(fallback, (line) => lines.push(line));
    onTestFinished(() => started.shutdown());
    expect(started.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.httpUrl).not.toBe(`http://${taken}`);
    expect(lines.some((line) => line.includes(`cannot serve the HTTP API on ${taken}`))).toBe(true);
    expect((await http(started.httpUrl!, "GET", "/v1/runners")).status).toBe(200);
    await started.shutdown();
    // Asked for: the start fails.
    await expect(startServer(loadConfig({ flags: { ...flags, httpListen: taken } }), () => {})).rejects.toThrow(
      `cannot serve the HTTP API on ${taken}`,
    );
  });
});

describe("HTTP streams and the per-client stream limit", () => {
  it("an open SSE watch counts against maxStreamsPerClient (429 TOO_MANY_STREAMS); closing it frees its place", async () => {
    const server = await startTestServer({ httpListen: "127.0.0.1:0", maxStreamsPerClient: 1 });
    onTestFinished(() => server.close());
    const base = server.server.httpUrl!;
    const first = new AbortController();
    const open = await fetch(`${base}/v1/tasks:watch`, { signal: first.signal });
    expect(open.headers.get("content-type")).toBe("text/event-stream");
    const second = await http(base, "GET", "/v1/tasks:watch");
    expectHttpError(second, 429, status.RESOURCE_EXHAUSTED, ErrorReason.TOO_MANY_STREAMS);
    first.abort(); // the client goes away: the handler is cancelled and the stream released
    const third = await waitUntil(async () => {
      const controller = new AbortController();
      const response = await fetch(`${base}/v1/tasks:watch`, { signal: controller.signal });
      const live = response.headers.get("content-type") === "text/event-stream";
      if (live) controller.abort();
      else await response.body?.cancel();
      return live;
    }, "a watch after the first was closed");
    expect(third).toBe(true);
  });
});
