import { type ServiceError, status } from "@grpc/grpc-js";
import {
  AdmissionPolicy,
  type BatchSubmitTasksResponse,
  ErrorReason,
  STATUS_DETAILS_KEY,
  type SubmitTaskRequest,
  SupervisorError,
} from "@supervisor/sdk";
import { Status } from "@supervisor/sdk/gen/google/rpc/status";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ slotQueueLimit: 1 });
});
afterAll(() => server.close());

const eachOnItsOwn = (requests: SubmitTaskRequest[]) =>
  call(rpc(server.tasks, "batchSubmitTasks"), { requests, returnPartialSuccess: true });
const allOrNothing = (requests: SubmitTaskRequest[]) =>
  call(rpc(server.tasks, "batchSubmitTasks"), { requests, returnPartialSuccess: false });
const submit = (request: SubmitTaskRequest) => call(rpc(server.tasks, "submitTask"), request);
const get = (id: string) => call(rpc(server.tasks, "getTask"), { id });
const countAll = async () =>
  (await call(rpc(server.tasks, "listTasks"), { pageSize: 1000, pageToken: "" })).tasks.length;

let slots = 0;
const freshSlot = () => `partial-${++slots}`;
let ids = 0;
const freshRequestId = () => `partial-request-${++ids}`;

/** The google.rpc.Status a unary SubmitTask failed with, from its grpc-status-details-bin trailer. */
async function unaryStatus(request: SubmitTaskRequest): Promise<Status> {
  try {
    await submit(request);
  } catch (error) {
    const raw = (error as ServiceError).metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    return Status.decode(raw);
  }
  throw new Error("the submit should have been refused");
}

/** Code name and reason of each refused request, by request index. */
const refusals = (response: BatchSubmitTasksResponse) =>
  Object.fromEntries(
    Object.entries(response.failedRequests).map(([index, rpcStatus]) => {
      const error = SupervisorError.fromStatus(rpcStatus);
      return [index, { code: error.codeName, reason: error.reason }];
    }),
  );

describe("BatchSubmitTasks with return_partial_success", () => {
  it("refuses each bad request on its own, with its code and reason, and stores the others", async () => {
    const busy = freshSlot();
    const owner = await submit(submitRequest(subprocessSpec("sleep", ["5"], { slot: busy })));
    const queued = freshSlot();
    const queue = { slot: queued, admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE };
    const reusedId = freshRequestId();
    await submit(submitRequest(subprocessSpec("echo", ["first"]), reusedId));
    const before = await countAll();

    const response = await eachOnItsOwn([
      submitRequest(subprocessSpec("echo", ["0"])),
      submitRequest(subprocessSpec("", [])), // bad field
      submitRequest(subprocessSpec("echo", ["2"], { slot: busy })), // SLOT_BUSY
      submitRequest(subprocessSpec("echo", ["3"], queue)), // owns the slot
      submitRequest(subprocessSpec("echo", ["4"], queue)), // queued (limit 1)
      submitRequest(subprocessSpec("echo", ["5"], queue)), // SLOT_QUEUE_FULL
      submitRequest(subprocessSpec("echo", ["other spec"]), reusedId), // REQUEST_ID_REUSED
      submitRequest({ ...subprocessSpec("echo", ["7"]), signature: { keyId: "k", signature: Buffer.alloc(64) } }),
      submitRequest(subprocessSpec("echo", ["8"])),
    ]);

    expect(refusals(response)).toEqual({
      1: { code: "INVALID_ARGUMENT", reason: ErrorReason.INVALID_REQUEST },
      2: { code: "FAILED_PRECONDITION", reason: ErrorReason.SLOT_BUSY },
      5: { code: "RESOURCE_EXHAUSTED", reason: ErrorReason.SLOT_QUEUE_FULL },
      6: { code: "ALREADY_EXISTS", reason: ErrorReason.REQUEST_ID_REUSED },
      7: { code: "PERMISSION_DENIED", reason: ErrorReason.SIGNATURE_INVALID },
    });
    expect(SupervisorError.fromStatus(response.failedRequests[2]!).metadata.owner_task_id).toBe(owner.task!.id);
    // The stored ones, in request order, each readable as answered.
    const args = response.tasks.map((task) => (task.spec!.exec as { value: { args: string[] } }).value.args[0]);
    expect(args).toEqual(["0", "3", "4", "8"]);
    for (const task of response.tasks) expect((await get(task.id)).task).toEqual(task);
    expect(await countAll()).toBe(before + 4);
  });

  it("answers each refused request with exactly the status SubmitTask gives it", async () => {
    const slot = freshSlot();
    await submit(submitRequest(subprocessSpec("sleep", ["5"], { slot })));
    const reusedId = freshRequestId();
    await submit(submitRequest(subprocessSpec("echo", ["first"]), reusedId));
    const refused = [
      submitRequest(subprocessSpec("echo", ["x"], { timeout: { seconds: -1, nanos: 0 }, labels: { "-bad": "x" } })),
      submitRequest(subprocessSpec("echo", ["busy"], { slot }), freshRequestId()),
      submitRequest(subprocessSpec("echo", ["second"]), reusedId),
      submitRequest({ ...subprocessSpec(), signature: { keyId: "nobody", signature: Buffer.alloc(64) } }),
    ];
    const unary: Status[] = [];
    for (const request of refused) unary.push(await unaryStatus(request));
    const response = await eachOnItsOwn(refused);
    expect(response.tasks).toEqual([]);
    expect(Object.keys(response.failedRequests)).toEqual(["0", "1", "2", "3"]);
    expect(refused.map((_, index) => response.failedRequests[index])).toEqual(unary);
    // Field paths are the request's own, as in SubmitTask (no requests[i]. prefix, no request_index).
    const invalid = SupervisorError.fromStatus(response.failedRequests[0]!);
    expect(invalid.fieldViolations.map((v) => v.field).sort()).toEqual(["spec.labels", "spec.timeout"]);
    expect(invalid.metadata.request_index).toBeUndefined();
  });

  it("writes nothing of a refused request: no task, no idempotency key", async () => {
    const slot = freshSlot();
    await submit(submitRequest(subprocessSpec("sleep", ["5"], { slot })));
    const requestId = freshRequestId();
    const before = await countAll();
    const response = await eachOnItsOwn([submitRequest(subprocessSpec("echo", ["busy"], { slot }), requestId)]);
    expect(refusals(response)).toEqual({ 0: { code: "FAILED_PRECONDITION", reason: ErrorReason.SLOT_BUSY } });
    expect(await countAll()).toBe(before);
    // Had its key been kept, another spec under it would be REQUEST_ID_REUSED.
    const { task } = await submit(submitRequest(subprocessSpec("echo", ["elsewhere"]), requestId));
    expect(task!.requestId).toBe(requestId);
  });

  it("decides the requests in order, each seeing the ones before it", async () => {
    const requestId = freshRequestId();
    const slot = freshSlot();
    const response = await eachOnItsOwn([
      submitRequest(subprocessSpec("echo", ["same"]), requestId),
      submitRequest(subprocessSpec("echo", ["same"]), requestId), // a repeat: the original task
      submitRequest(subprocessSpec("echo", ["owner"], { slot })),
      submitRequest(subprocessSpec("echo", ["second"], { slot })), // the slot is taken by the one before
    ]);
    expect(refusals(response)).toEqual({ 3: { code: "FAILED_PRECONDITION", reason: ErrorReason.SLOT_BUSY } });
    expect(response.tasks).toHaveLength(3);
    expect(response.tasks[1]!.id).toBe(response.tasks[0]!.id);
    const ids = response.tasks.map((task) => task.id);
    expect([...ids].sort()).toEqual(ids);
  });

  it("still refuses the whole call for no requests, more than 1000 or more than 3 MiB", async () => {
    await expectError(eachOnItsOwn([]), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    const before = await countAll();
    const many = Array.from({ length: 1001 }, () => submitRequest(subprocessSpec()));
    const tooMany = await expectError(eachOnItsOwn(many), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(tooMany.fieldViolations[0]!.field).toBe("requests");
    const blob = (i: number) =>
      submitRequest({
        ...subprocessSpec(),
        exec: { $case: "embedded", value: { handler: "h", payload: { blob: "x".repeat(250_000), i } } },
      });
    const big = Array.from({ length: 14 }, (_, i) => blob(i));
    const tooBig = await expectError(eachOnItsOwn(big), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(tooBig.fieldViolations[0]!.description).toContain("split it");
    expect(await countAll()).toBe(before);
  });

  it("leaves the default all or nothing: one refusal fails the call and stores nothing", async () => {
    const slot = freshSlot();
    await submit(submitRequest(subprocessSpec("sleep", ["5"], { slot })));
    const before = await countAll();
    const error = await expectError(
      allOrNothing([submitRequest(subprocessSpec()), submitRequest(subprocessSpec("echo", ["busy"], { slot }))]),
      status.FAILED_PRECONDITION,
      ErrorReason.SLOT_BUSY,
    );
    expect(error.metadata.request_index).toBe("1");
    expect(await countAll()).toBe(before);
    const { tasks, failedRequests } = await allOrNothing([submitRequest(subprocessSpec())]);
    expect({ tasks: tasks.length, failedRequests }).toEqual({ tasks: 1, failedRequests: {} });
  });
});
