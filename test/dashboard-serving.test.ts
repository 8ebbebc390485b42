import { status } from "@grpc/grpc-js";
import { ErrorReason } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../server/src/http/dashboard/serve-dashboard.js";
import { expectHttpError, http } from "./helpers/http.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const parked = { subprocess: { command: "true" }, runnerSelector: { matchLabels: { pool: "nowhere" } } };

/** A GET answered as text, with its headers: the dashboard's files are not JSON. */
async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe("the dashboard's files on the HTTP port", () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer({ httpListen: "127.0.0.1:0" });
    base = server.server.httpUrl!;
  });
  afterAll(() => server?.close());

  it("/ is index.html, never cached, under a strict CSP; its hashed assets are cached for a year", async () => {
    const index = await get(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
    const assets = [...index.text.matchAll(/(?:src|href)="(\/assets\/main-[A-Z0-9]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const path of assets) {
      const asset = await get(`${base}${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(asset.headers.get("content-type")).toMatch(path.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
    }
  });

  it("any page path is index.html (the page routes itself); an unknown asset is 404; /v1 stays the API", async () => {
    const index = await get(`${base}/`);
    for (const path of ["/tasks", "/tasks/01a2342d-b637-7000-b428-4fb1bc68987f", "/runners?x=1", "/no/such/page"]) {
      const page = await get(`${base}${path}`);
      expect({ path, status: page.status, text: page.text }).toEqual({ path, status: 200, text: index.text });
    }
    expect((await get(`${base}/assets/main-NOSUCH.js`)).status).toBe(404);
    expectHttpError(await http(base, "GET", "/v1/nothing"), 404, status.NOT_FOUND, ErrorReason.ROUTE_NOT_FOUND);
    expectHttpError(await http(base, "POST", "/tasks"), 404, status.NOT_FOUND, ErrorReason.ROUTE_NOT_FOUND);
  });

  it("/dashboard/session without tokens: the anonymous operator, who may press every button", async () => {
    const session = await http(base, "GET", "/dashboard/session");
    expect(session.status).toBe(200);
    expect(session.json).toMatchObject({ role: "operator", authEnabled: false });
    expect(Object.values(session.json.may).every((may) => may === true)).toBe(true);
    expect(session.json.may.CancelTask).toBe(true);
  });

  it("/dashboard/overview counts pending now and what ended in the last hour, by phase", async () => {
    const before = (await http(base, "GET", "/dashboard/overview")).json;
    const first = await http(base, "POST", "/v1/tasks", { body: { spec: parked } });
    const second = await http(base, "POST", "/v1/tasks", { body: { spec: parked } });
    await http(base, "POST", `/v1/tasks/${second.json.task.id}:cancel`, { body: {} });
    const after = (await http(base, "GET", "/dashboard/overview")).json;
    expect(first.status).toBe(200);
    expect(after.leading).toBe(true);
    expect(after.pending - before.pending).toBe(1);
    expect(after.submittedLastHour - before.submittedLastHour).toBe(2);
    expect((after.endedLastHour.CANCELED ?? 0) - (before.endedLastHour.CANCELED ?? 0)).toBe(1);
    expect(after.endedPerMinute).toHaveLength(60);
    expect(after.endedPerMinute.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThanOrEqual(1);
  });

  it("a page of another origin is refused (403 ORIGIN_FORBIDDEN), as on the API", async () => {
    const foreign = await http(base, "GET", "/dashboard/session", { headers: { origin: "http://evil.example" } });
    expectHttpError(foreign, 403, status.PERMISSION_DENIED, ErrorReason.ORIGIN_FORBIDDEN);
  });
});

describe("the dashboard's session and overview with authentication on", () => {
  const TOKENS = {
    operator: "operator-token-0123456789abcdef",
    readonly: "readonly-token-0123456789abcdef",
    runner: "runner-token-0123456789abcdef00",
  };
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    const tokens = JSON.stringify([
      { name: "ops", role: "operator", token: TOKENS.operator },
      { name: "viewer", role: "readonly", token: TOKENS.readonly },
      { name: "worker", role: "runner", token: TOKENS.runner },
    ]);
    server = await startTestServer({ tokens, httpListen: "127.0.0.1:0" });
    base = server.server.httpUrl!;
  });
  afterAll(() => server?.close());

  it("no token: 401 TOKEN_MISSING (the page asks for one); a wrong one: TOKEN_INVALID", async () => {
    const missing = await http(base, "GET", "/dashboard/session");
    expectHttpError(missing, 401, status.UNAUTHENTICATED, ErrorReason.TOKEN_MISSING);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="supervisor"');
    const wrong = await http(base, "GET", "/dashboard/overview", { token: "not-a-token-0123456789" });
    expectHttpError(wrong, 401, status.UNAUTHENTICATED, ErrorReason.TOKEN_INVALID);
    // The page itself is no secret: it loads, then asks.
    expect((await get(`${base}/tasks`)).status).toBe(200);
  });

  it("the session says what the token's role may press: readonly nothing, operator everything", async () => {
    const readonly = await http(base, "GET", "/dashboard/session", { token: TOKENS.readonly });
    expect(readonly.json).toMatchObject({ name: "viewer", role: "readonly", authEnabled: true });
    expect(Object.values(readonly.json.may).some((may) => may === true)).toBe(false);
    const operator = await http(base, "GET", "/dashboard/session", { token: TOKENS.operator });
    expect(operator.json).toMatchObject({ name: "ops", role: "operator" });
    expect(Object.values(operator.json.may).every((may) => may === true)).toBe(true);
  });

  it("the overview is for whoever may list tasks: readonly reads it, a runner token is refused", async () => {
    expect((await http(base, "GET", "/dashboard/overview", { token: TOKENS.readonly })).status).toBe(200);
    const runner = await http(base, "GET", "/dashboard/overview", { token: TOKENS.runner });
    expectHttpError(runner, 403, status.PERMISSION_DENIED, ErrorReason.ROLE_FORBIDDEN);
  });
});
