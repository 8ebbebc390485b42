import { credentials, type Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { ERROR_DOMAIN, ErrorReason, TaskServiceClient, TaskServiceService } from "@supervisor/sdk";
import { ErrorInfo } from "@supervisor/sdk/gen/google/rpc/error_details";
import { Status } from "@supervisor/sdk/gen/google/rpc/status";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../server/src/log.js";
import { withUnimplemented } from "../server/src/services/unimplemented.js";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("error details", () => {
  it("a method with no handler answers UNIMPLEMENTED with ErrorInfo naming the method", async () => {
    // Every method of the real server is served now; this checks the guard that keeps
    // any future gap honest, on a real grpc-js server serving a partial TaskService.
    const partial = new Server();
    partial.addService(TaskServiceService, withUnimplemented(TaskServiceService, {}, silentLogger));
    const port = await new Promise<number>((resolve, reject) =>
      partial.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const client = new TaskServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const error = await expectError(
        call(rpc(client, "getTask"), { id: "x" }),
        status.UNIMPLEMENTED,
        ErrorReason.NOT_IMPLEMENTED,
      );
      expect(error.metadata).toEqual({ method: "supervisor.v1.TaskService/GetTask" });
      const streamError = await new Promise<unknown>((resolve) => {
        const stream = client.watchTasks({ sinceRevision: 0, sendInitial: false });
        stream.on("data", () => {});
        stream.on("error", resolve);
      });
      await expectError(Promise.reject(streamError), status.UNIMPLEMENTED, ErrorReason.NOT_IMPLEMENTED);
    } finally {
      client.close();
      partial.forceShutdown();
    }
  });

  it("every error carries a google.rpc.Status with ErrorInfo in the supervisor.v1 domain", async () => {
    const id = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";
    const raw = (await call(rpc(server.tasks, "getTask"), { id }).catch((e: unknown) => e)) as {
      code: number;
      metadata: Metadata;
    };
    expect(raw.code).toBe(status.NOT_FOUND);
    const details = raw.metadata.get("grpc-status-details-bin");
    expect(details).toHaveLength(1);
    const decoded = Status.decode(details[0] as Buffer);
    expect(decoded.code).toBe(status.NOT_FOUND);
    const info = ErrorInfo.decode(decoded.details[0]!.value);
    expect(info).toEqual({ reason: ErrorReason.TASK_NOT_FOUND, domain: ERROR_DOMAIN, metadata: { task_id: id } });
  });
});
