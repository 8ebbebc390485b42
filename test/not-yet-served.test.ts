import { status } from "@grpc/grpc-js";
import { ErrorReason, Placement, type TaskSpec } from "@supervisor/sdk";
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
    ["fan-out", { placement: Placement.PLACEMENT_EACH_MATCHING_RUNNER }, "spec.placement"],
    ["a fan-out window", { fanOutWindow: { seconds: 5, nanos: 0 } }, "spec.fan_out_window"],
    ["a failure tolerance", { maxFailed: 1 }, "spec.max_failed"],
    ["a pinned runner", { pinnedRunnerId: "0190c5e2-7b1d-7c3a-8f00-00000000aaaa" }, "spec.pinned_runner_id"],
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
