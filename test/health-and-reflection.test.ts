import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type FileRegistry, fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import { credentials, loadPackageDefinition, type ServiceError, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import {
  BAD_REQUEST_TYPE,
  ERROR_INFO_TYPE,
  ErrorReason,
  RETRY_INFO_TYPE,
  STATUS_DETAILS_KEY,
  type TaskSpec,
} from "@supervisor/sdk";
import { protoPath as healthProtoPath, service as healthServiceDefinition } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";
import { call, rpc } from "./helpers/grpc.js";
import { listServices, type ReflectionVersion, registryFromReflection } from "./helpers/reflection.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

const run = promisify(execFile);
const BUF = `${REPO_ROOT}/node_modules/.bin/buf`;
const VERSIONS: ReflectionVersion[] = ["v1", "v1alpha"];
const UNKNOWN_TASK_ID = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";

/** `buf curl` over plain-text gRPC, schema from reflection only; resolves with stdout, rejects with the exec error. */
function bufCurl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args]);
}

/** A failed call's google.rpc.Status as proto JSON, each Any detail expanded (what grpcurl prints). */
function statusJson(error: ServiceError, registry: FileRegistry): JsonValue {
  const [bytes] = error.metadata.get(STATUS_DETAILS_KEY);
  const statusDesc = registry.getMessage("google.rpc.Status")!;
  return toJson(statusDesc, fromBinary(statusDesc, bytes as Buffer), { registry });
}

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  return promise.then(
    () => expect.fail("the call should have failed"),
    (error: ServiceError) => error,
  );
}

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
    for (const service of [
      "",
      "supervisor.v1.TaskService",
      "supervisor.v1.RunnerService",
      "supervisor.v1.ScheduleService",
      "supervisor.v1.DispatchService",
    ]) {
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

  for (const version of VERSIONS) {
    it(`buf curl calls Health/Check with no --schema (reflection ${version})`, async () => {
      const { stdout } = await bufCurl(
        "--reflect-protocol",
        `grpc-${version}`,
        "-d",
        '{"service": "supervisor.v1.TaskService"}',
        `http://${server.address}/grpc.health.v1.Health/Check`,
      );
      expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
    });
  }
});

describe("reflection", () => {
  it("lets buf curl list every served method, health and reflection included, with no proto files", async () => {
    const { stdout } = await bufCurl("--list-methods", `http://${server.address}`);
    const methods = stdout.trim().split("\n").sort();
    expect(methods).toEqual(
      [
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/List",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "supervisor.v1.DispatchService/ListDispatchPauses",
        "supervisor.v1.DispatchService/PauseDispatch",
        "supervisor.v1.DispatchService/ResumeDispatch",
        "supervisor.v1.RunnerService/Connect",
        "supervisor.v1.RunnerService/DeleteRunner",
        "supervisor.v1.RunnerService/DrainRunner",
        "supervisor.v1.RunnerService/ListRunners",
        "supervisor.v1.RunnerService/UndrainRunner",
        "supervisor.v1.ScheduleService/CreateSchedule",
        "supervisor.v1.ScheduleService/DeleteSchedule",
        "supervisor.v1.ScheduleService/GetSchedule",
        "supervisor.v1.ScheduleService/ListSchedules",
        "supervisor.v1.ScheduleService/PauseSchedule",
        "supervisor.v1.ScheduleService/TriggerSchedule",
        "supervisor.v1.ScheduleService/UnpauseSchedule",
        "supervisor.v1.ScheduleService/UpdateSchedule",
        "supervisor.v1.TaskService/BatchSubmitTasks",
        "supervisor.v1.TaskService/CancelTask",
        "supervisor.v1.TaskService/CancelTasks",
        "supervisor.v1.TaskService/ExplainTask",
        "supervisor.v1.TaskService/GetTask",
        "supervisor.v1.TaskService/ListTaskRuns",
        "supervisor.v1.TaskService/ListTasks",
        "supervisor.v1.TaskService/RerunTask",
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
    const result = await bufCurl("-d", body, `http://${server.address}/supervisor.v1.TaskService/SubmitTask`).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    const output = result.stdout + result.stderr;
    expect(output).not.toMatch(/failed to find|could not resolve|unable to resolve/i);
    expect(output).toMatch(/"code":\s*"(invalid_argument|unimplemented)"/);
  });

  for (const version of VERSIONS) {
    it(`ListServices (${version}) names every served service`, async () => {
      expect((await listServices(server.address, version)).sort()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "supervisor.v1.DispatchService",
        "supervisor.v1.RunnerService",
        "supervisor.v1.ScheduleService",
        "supervisor.v1.TaskService",
      ]);
    });

    it(`file_containing_symbol (${version}) resolves grpc.health.v1.Health as grpc-health-check serves it`, async () => {
      const registry = await registryFromReflection(server.address, version, ["grpc.health.v1.Health"]);
      const health = registry.getService("grpc.health.v1.Health")!;
      expect(health.file.proto.name).toBe("grpc/health/v1/health.proto");
      const reflected = health.methods.map((method) => ({
        path: `/${health.typeName}/${method.name}`,
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      }));
      const served = Object.values(healthServiceDefinition).map(({ path, requestStream, responseStream }) => ({
        path,
        requestStream,
        responseStream,
      }));
      expect(reflected).toEqual(served);
    });

    it(`file_containing_symbol (${version}) resolves the google.rpc error details at the type URLs we send`, async () => {
      const registry = await registryFromReflection(server.address, version, [
        "google.rpc.Status",
        "google.rpc.ErrorInfo",
        "google.rpc.BadRequest",
        "google.rpc.RetryInfo",
      ]);
      for (const typeUrl of [ERROR_INFO_TYPE, BAD_REQUEST_TYPE, RETRY_INFO_TYPE]) {
        // A client resolves an Any by the name after the last "/" of its type URL.
        const typeName = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
        expect(typeUrl).toBe(`type.googleapis.com/${typeName}`);
        expect(registry.getMessage(typeName)?.file.proto.name, typeName).toBe("google/rpc/error_details.proto");
      }
    });
  }

  it("a client with nothing but reflection decodes a real error's ErrorInfo and BadRequest", async () => {
    const registry = await registryFromReflection(server.address, "v1", [
      "google.rpc.Status",
      "google.rpc.ErrorInfo",
      "google.rpc.BadRequest",
    ]);
    const notFound = await failure(call(rpc(server.tasks, "getTask"), { id: UNKNOWN_TASK_ID }));
    expect(statusJson(notFound, registry)).toEqual({
      code: status.NOT_FOUND,
      message: `task ${UNKNOWN_TASK_ID} not found`,
      details: [
        {
          "@type": ERROR_INFO_TYPE,
          reason: ErrorReason.TASK_NOT_FOUND,
          domain: "supervisor.v1",
          metadata: { task_id: UNKNOWN_TASK_ID },
        },
      ],
    });

    const spec: TaskSpec = subprocessSpec("", [], { timeout: { seconds: -5, nanos: 0 } });
    const invalid = await failure(call(rpc(server.tasks, "submitTask"), submitRequest(spec)));
    const decoded = statusJson(invalid, registry) as { code: number; details: JsonValue[] };
    expect(decoded.code).toBe(status.INVALID_ARGUMENT);
    expect(decoded.details).toEqual([
      { "@type": ERROR_INFO_TYPE, reason: ErrorReason.INVALID_REQUEST, domain: "supervisor.v1" },
      {
        "@type": BAD_REQUEST_TYPE,
        fieldViolations: [
          { field: "spec.subprocess.command", description: expect.any(String) },
          { field: "spec.timeout", description: expect.any(String) },
        ],
      },
    ]);
  });

  it("buf curl names each error detail by its google.rpc type; the bytes it prints decode through reflection", async () => {
    // buf curl (1.75) decodes a detail only if the type is compiled into buf itself, which
    // google.rpc.ErrorInfo/BadRequest are not: it prints them as base64 (docs/cookbook.md
    // decodes them). What the server controls is that the type and bytes are right.
    const registry = await registryFromReflection(server.address, "v1", ["google.rpc.ErrorInfo"]);
    const result = await bufCurl(
      "-d",
      JSON.stringify({ id: UNKNOWN_TASK_ID }),
      `http://${server.address}/supervisor.v1.TaskService/GetTask`,
    ).then(
      () => expect.fail("GetTask of an unknown id should have failed"),
      (error: { stderr: string }) => error,
    );
    const printed = JSON.parse(result.stderr) as { code: string; details: { type: string; value: string }[] };
    expect(printed.code).toBe("not_found");
    const [detail, ...others] = printed.details;
    expect([detail?.type, others.length]).toEqual(["google.rpc.ErrorInfo", 0]);
    const errorInfo = registry.getMessage("google.rpc.ErrorInfo")!;
    const value = Buffer.from(detail!.value, "base64");
    expect(toJson(errorInfo, fromBinary(errorInfo, value))).toMatchObject({ reason: ErrorReason.TASK_NOT_FOUND });
  });
});
