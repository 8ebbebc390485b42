import { readFileSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpBindings } from "../server/src/http/http-rules.js";
import { httpStatusOf } from "../server/src/http/http-status.js";
import { protoRegistry } from "../server/src/http/proto-registry.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { http } from "./helpers/http.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const bindings = httpBindings(protoRegistry());

/** The rows of docs/http-api.md's route table: method, path, RPC, body, answer. */
function documentedRoutes(): string[][] {
  const text = readFileSync(`${REPO_ROOT}/docs/http-api.md`, "utf8");
  const table = /<!-- routes: begin -->\n([\s\S]*?)<!-- routes: end -->/.exec(text)![1]!;
  return table
    .trim()
    .split("\n")
    .slice(2) // header and rule
    .map((row) =>
      row
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/^`|`$/g, "")),
    );
}

describe("the HTTP routes", () => {
  it("docs/http-api.md lists every google.api.http binding, in proto order, and nothing else", () => {
    const fromProto = bindings.map((b) => [
      b.httpMethod,
      b.template.text,
      b.rpc.replace("supervisor.v1.", "").replace("/", "."),
      b.body || "—",
      b.method.methodKind === "server_streaming" ? "stream" : "unary",
    ]);
    expect(documentedRoutes()).toEqual(fromProto);
  });

  it("every method of every service has a binding but RunnerService.Connect", () => {
    const registry = protoRegistry();
    const services = ["TaskService", "RunnerService", "ScheduleService", "DispatchService"];
    const methods = services.flatMap((s) =>
      registry.getService(`supervisor.v1.${s}`)!.methods.map((m) => `supervisor.v1.${s}/${m.name}`),
    );
    const bound = new Set(bindings.map((b) => b.rpc));
    expect(methods.filter((m) => !bound.has(m))).toEqual(["supervisor.v1.RunnerService/Connect"]);
  });

  it("each gRPC code has grpc-gateway's HTTP status", () => {
    const expected: Record<number, number> = {
      [status.CANCELLED]: 499,
      [status.UNKNOWN]: 500,
      [status.INVALID_ARGUMENT]: 400,
      [status.DEADLINE_EXCEEDED]: 504,
      [status.NOT_FOUND]: 404,
      [status.ALREADY_EXISTS]: 409,
      [status.PERMISSION_DENIED]: 403,
      [status.RESOURCE_EXHAUSTED]: 429,
      [status.FAILED_PRECONDITION]: 400,
      [status.ABORTED]: 409,
      [status.OUT_OF_RANGE]: 400,
      [status.UNIMPLEMENTED]: 501,
      [status.INTERNAL]: 500,
      [status.UNAVAILABLE]: 503,
      [status.DATA_LOSS]: 500,
      [status.UNAUTHENTICATED]: 401,
    };
    for (const [code, httpStatus] of Object.entries(expected))
      expect(httpStatusOf(Number(code)), code).toBe(httpStatus);
  });
});

describe("every route reaches a served handler", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ httpListen: "127.0.0.1:0" });
  });
  afterAll(() => server?.close());

  it("each binding, called with placeholder path values, is answered by its handler (not 'not served')", async () => {
    for (const binding of bindings) {
      const path = binding.template.text.replace(/\{[^}]+\}/g, "0190c5e2-7b1d-7c3a-8f00-0123456789ab");
      const where = `${binding.httpMethod} ${path}`;
      if (binding.method.methodKind === "server_streaming") {
        // A watch never ends: its headers are the answer (a stream that failed would have a Status body).
        const response = await fetch(server.server.httpUrl! + path);
        if (response.headers.get("content-type") === "text/event-stream") await response.body?.cancel();
        else expect(await response.json(), where).toMatchObject({ details: [{ reason: "TASK_NOT_FOUND" }] });
        continue;
      }
      const body = binding.body ? {} : undefined;
      const answer = await http(server.server.httpUrl!, binding.httpMethod, path, { body });
      expect(answer.json?.message ?? "", where).not.toMatch(/is not served/);
      // Routed to this very binding: never a routing error.
      expect(
        [404, 405].includes(answer.status) && /ROUTE_NOT_FOUND|METHOD_NOT_ALLOWED/.test(JSON.stringify(answer.json)),
        where,
      ).toBe(false);
    }
  });
});
