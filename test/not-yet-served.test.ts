import { status } from "@grpc/grpc-js";
import { ErrorReason, type TaskSpec } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

// Fields of the contract whose behaviour is still to come (issue 19) are refused, never stored and
// ignored. Each case goes when its feature lands.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("fields this server does not serve yet", () => {
  it.each<[string, Partial<TaskSpec>, string]>([
    ["init steps", { init: [{ command: "true", args: [], env: {}, workingDir: "" }] }, "spec.init"],
    [
      "the container kind",
      {
        exec: {
          $case: "container",
          value: { image: "/img", command: "sh", args: [], env: {}, workingDir: "", mounts: [], network: false },
        },
      },
      "spec.container",
    ],
  ])("%s: INVALID_ARGUMENT naming the field", async (_, fields, field) => {
    const error = await expectError(
      call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true", [], fields))),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toContain(field);
    expect(error.fieldViolations.find((v) => v.field === field)!.description).toMatch(/not served by this server yet/);
  });
});
