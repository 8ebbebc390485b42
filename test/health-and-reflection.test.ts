import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { credentials, loadPackageDefinition, type ServiceError, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const run = promisify(execFile);
const BUF = `${REPO_ROOT}/node_modules/.bin/buf`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

type HealthClient = {
  check(
    request: { service: string },
    callback: (error: ServiceError | null, response: { status: string }) => void,
  ): void;
  close(): void;
};

function healthClient(address: string): HealthClient {
  const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;
  return new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
}

describe("health", () => {
  it("answers SERVING for the server and for each supervisor service", async () => {
    const client = healthClient(server.address);
    for (const service of ["", "supervisor.v1.TaskService", "supervisor.v1.RunnerService"]) {
      const response = await new Promise<{ status: string }>((resolve, reject) =>
        client.check({ service }, (error, reply) => (error ? reject(error) : resolve(reply))),
      );
      expect(response.status, service || "(server)").toBe("SERVING");
    }
    const unknown = await new Promise<ServiceError>((resolve) =>
      client.check({ service: "nope.Service" }, (error) => resolve(error!)),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);
    client.close();
  });
});

describe("reflection", () => {
  it("lets buf curl list all 13 methods of both services with no proto files", async () => {
    const { stdout } = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-methods",
      `http://${server.address}`,
    ]);
    const methods = stdout.trim().split("\n").sort();
    expect(methods).toEqual(
      [
        "supervisor.v1.RunnerService/Connect",
        "supervisor.v1.RunnerService/DeleteRunner",
        "supervisor.v1.RunnerService/DrainRunner",
        "supervisor.v1.RunnerService/ListRunners",
        "supervisor.v1.RunnerService/UndrainRunner",
        "supervisor.v1.TaskService/BatchSubmitTasks",
        "supervisor.v1.TaskService/CancelTask",
        "supervisor.v1.TaskService/GetTask",
        "supervisor.v1.TaskService/ListTaskRuns",
        "supervisor.v1.TaskService/ListTasks",
        "supervisor.v1.TaskService/StreamTaskOutput",
        "supervisor.v1.TaskService/SubmitTask",
        "supervisor.v1.TaskService/WatchTasks",
      ].sort(),
    );
  });

  it("resolves message types that use well-known types, so buf curl can call a method", async () => {
    // SubmitTask's request holds Duration/Timestamp/Struct fields; buf curl must
    // resolve the full schema through reflection to encode it at all.
    const body = JSON.stringify({
      spec: { subprocess: { command: "" }, timeout: "5s", notBefore: "2030-01-01T00:00:00Z" },
    });
    const result = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      body,
      `http://${server.address}/supervisor.v1.TaskService/SubmitTask`,
    ]).catch((error: { stdout: string; stderr: string }) => error);
    const output = result.stdout + result.stderr;
    expect(output).not.toMatch(/failed to find|could not resolve|unable to resolve/i);
    expect(output).toMatch(/"code":\s*"(invalid_argument|unimplemented)"/);
  });
});
