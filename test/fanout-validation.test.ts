import { status } from "@grpc/grpc-js";
import { AdmissionPolicy, ErrorReason, Placement, TaskFilter, type TaskSpec } from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

// Every refusal of the fan-out and pinning fields: INVALID_ARGUMENT, INVALID_REQUEST, naming the field.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const EACH = Placement.PLACEMENT_EACH_MATCHING_RUNNER;
const RUNNER = "0190c5e2-7b1d-7c3a-8f00-00000000aaaa";

describe("fan-out and pinning fields", () => {
  it.each<[string, Partial<TaskSpec>, string]>([
    ["an unknown placement", { placement: 7 as Placement }, "spec.placement"],
    [
      "a window over 7 days",
      { placement: EACH, fanOutWindow: { seconds: 7 * 86_400 + 1, nanos: 0 } },
      "spec.fan_out_window",
    ],
    ["a window of zero", { placement: EACH, fanOutWindow: { seconds: 0, nanos: 0 } }, "spec.fan_out_window"],
    ["a window without fan-out", { fanOutWindow: { seconds: 5, nanos: 0 } }, "spec.fan_out_window"],
    ["max_failed without fan-out", { maxFailed: 1 }, "spec.max_failed"],
    ["a negative max_failed", { placement: EACH, maxFailed: -1 }, "spec.max_failed"],
    ["a pin that is no runner id", { pinnedRunnerId: "runner-a" }, "spec.pinned_runner_id"],
    ["a pinned fan-out", { placement: EACH, pinnedRunnerId: RUNNER }, "spec.pinned_runner_id"],
    [
      "a queued fan-out",
      { placement: EACH, slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE },
      "spec.admission",
    ],
  ])("%s: INVALID_ARGUMENT naming the field", async (_, fields, field) => {
    const error = await expectError(
      call(rpc(server.tasks, "submitTask"), submitRequest(subprocessSpec("true", [], fields))),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual([field]);
  });

  it("a parent_id filter that is no task id: INVALID_ARGUMENT naming filter.parent_id", async () => {
    const error = await expectError(
      call(rpc(server.tasks, "listTasks"), {
        pageSize: 10,
        pageToken: "",
        filter: TaskFilter.fromPartial({ parentId: "nope" }),
      }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["filter.parent_id"]);
  });

  it("the fields it accepts are stored as given", async () => {
    const spec = subprocessSpec("true", [], { placement: EACH, fanOutWindow: { seconds: 5, nanos: 0 }, maxFailed: 2 });
    const { task } = await call(rpc(server.tasks, "submitTask"), submitRequest(spec));
    expect(task!.spec).toMatchObject({ placement: EACH, fanOutWindow: { seconds: 5, nanos: 0 }, maxFailed: 2 });
    const pinned = await call(
      rpc(server.tasks, "submitTask"),
      submitRequest(subprocessSpec("true", [], { pinnedRunnerId: RUNNER })),
    );
    expect(pinned.task!.spec!.pinnedRunnerId).toBe(RUNNER);
    expect(pinned.task!.status!.message).toContain(RUNNER);
  });
});
