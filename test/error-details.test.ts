import { status } from "@grpc/grpc-js";
import { ERROR_DOMAIN, ErrorReason } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("error details", () => {
  it("a method not served yet answers UNIMPLEMENTED with ErrorInfo naming the method", async () => {
    // DrainRunner is the last method to be built (runners issue); until then it must say so precisely.
    const error = await expectError(call(rpc(server.runners, "drainRunner"), { runnerId: "r1" }), status.UNIMPLEMENTED, ErrorReason.NOT_IMPLEMENTED);
    expect(error.metadata).toEqual({ method: "supervisor.v1.RunnerService/DrainRunner" });
    expect(error.message).toContain("not implemented");
  });

  it("every error carries ErrorInfo in the supervisor.v1 domain", async () => {
    const raw = await call(rpc(server.runners, "listRunners"), { pageSize: 0, pageToken: "", labelSelector: "" }).catch((e) => e);
    const details = (raw as { metadata: import("@grpc/grpc-js").Metadata }).metadata.get("grpc-status-details-bin");
    expect(details).toHaveLength(1);
    const { Status } = await import("@supervisor/sdk/gen/google/rpc/status");
    const { ErrorInfo } = await import("@supervisor/sdk/gen/google/rpc/error_details");
    const decoded = Status.decode(details[0] as Buffer);
    const info = ErrorInfo.decode(decoded.details[0]!.value);
    expect(info.domain).toBe(ERROR_DOMAIN);
    expect(info.reason).not.toBe("");
  });
});
