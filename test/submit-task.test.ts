import { status } from "@grpc/grpc-js";
import {
  AdmissionPolicy,
  ErrorReason,
  Jitter,
  RestartPolicy,
  SelectorOperator,
  TaskPhase,
  TaskReason,
  TaskSpec,
  Trigger,
} from "@supervisor/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, rpc } from "./helpers/grpc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ slotQueueLimit: 2 });
});
afterAll(() => server.close());

const submit = (spec: TaskSpec, requestId = "") =>
  call(rpc(server.tasks, "submitTask"), submitRequest(spec, requestId));
const get = (id: string) => call(rpc(server.tasks, "getTask"), { id });
const cancel = (id: string, reason = "") => call(rpc(server.tasks, "cancelTask"), { id, reason });
const countAll = async () =>
  (await call(rpc(server.tasks, "listTasks"), { pageSize: 1000, pageToken: "" })).tasks.length;
let slotCounter = 0;
const freshSlot = () => `slot-${++slotCounter}`;

/** `depth` lists nested inside each other around a number. */
const nestedLists = (depth: number): unknown => (depth === 0 ? 1 : [nestedLists(depth - 1)]);

describe("SubmitTask", () => {
  it("stores the task with every default made explicit, and GetTask returns it", async () => {
    const { task } = await submit(subprocessSpec("echo", ["hi"]));
    expect(task!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(task!.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect(task!.status!.reason).toBe(TaskReason.NO_MATCHING_RUNNER);
    expect(task!.revision).toBeGreaterThan(0);
    expect(task!.spec).toMatchObject({
      timeout: { seconds: 60, nanos: 0 },
      restart: RestartPolicy.RESTART_POLICY_NEVER,
      maxAttempts: 1,
      backoff: {
        initialDelay: { seconds: 1, nanos: 0 },
        maxDelay: { seconds: 30, nanos: 0 },
        multiplier: 2,
        jitter: Jitter.JITTER_FULL,
      },
      admission: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
      trigger: Trigger.TRIGGER_API,
    });
    const fetched = await get(task!.id);
    expect(fetched.task).toEqual(task);
  });

  it('stores keys named "__proto__" as sent: in an embedded payload and in env', async () => {
    // Own properties, as JSON.parse makes them: a plain assignment would set the prototype instead.
    const payload = JSON.parse('{"__proto__": [1, {"__proto__": "x"}], "": {"__proto__": []}}');
    const env = JSON.parse('{"__proto__": "kept", "PATH": "/bin"}');
    const embedded = { ...subprocessSpec("x"), exec: { $case: "embedded" as const, value: { handler: "h", payload } } };
    const sub = subprocessSpec("env");
    if (sub.exec?.$case === "subprocess") sub.exec.value.env = env;
    for (const spec of [embedded, sub]) {
      const { task } = await submit(spec);
      const fetched = (await get(task!.id)).task!;
      for (const stored of [task!, fetched]) expect(JSON.stringify(stored.spec!.exec)).toBe(JSON.stringify(spec.exec));
    }
    const stored = (await get((await submit(embedded)).task!.id)).task!.spec!.exec;
    expect(stored?.$case === "embedded" && Object.keys(stored.value.payload!)).toEqual(["__proto__", ""]);
  });

  it("defaults ON_FAILURE to 3 attempts and keeps ALWAYS unlimited", async () => {
    const onFailure = await submit(subprocessSpec("true", [], { restart: RestartPolicy.RESTART_POLICY_ON_FAILURE }));
    expect(onFailure.task!.spec!.maxAttempts).toBe(3);
    const always = await submit(subprocessSpec("true", [], { restart: RestartPolicy.RESTART_POLICY_ALWAYS }));
    expect(always.task!.spec!.maxAttempts).toBe(0);
  });

  it("ids sort by submit time", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await submit(subprocessSpec())).task!.id);
    expect([...ids].sort()).toEqual(ids);
  });

  it("a not_before in the future is recorded as the reason and next attempt time", async () => {
    const notBefore = new Date(Date.now() + 3_600_000);
    const { task } = await submit(subprocessSpec("true", [], { notBefore }));
    expect(task!.status!.reason).toBe(TaskReason.NOT_BEFORE);
    expect(task!.status!.nextAttemptTime).toEqual(notBefore);
  });
});

describe("bad input", () => {
  const spec = (overrides: Partial<TaskSpec>) => subprocessSpec("echo", ["x"], overrides);
  const cases: [string, () => Parameters<typeof submit>, string][] = [
    ["missing exec", () => [{ ...spec({}), exec: undefined }], "spec.exec"],
    ["empty command", () => [subprocessSpec("", [])], "spec.subprocess.command"],
    ["oversize command", () => [subprocessSpec("x".repeat(5000), [])], "spec.subprocess.command"],
    [
      "too many args",
      () => [
        subprocessSpec(
          "echo",
          Array.from({ length: 1025 }, () => "a"),
        ),
      ],
      "spec.subprocess.args",
    ],
    ["NUL in an argument", () => [subprocessSpec("echo", ["a\0b"])], "spec.subprocess.args[0]"],
    [
      "bad env name",
      () => [
        {
          ...spec({}),
          exec: { $case: "subprocess", value: { command: "env", args: [], env: { "A=B": "1" }, workingDir: "" } },
        },
      ],
      "spec.subprocess.env",
    ],
    ["bad label key", () => [spec({ labels: { "-bad": "x" } })], "spec.labels"],
    ["bad label value", () => [spec({ labels: { good: "no spaces allowed" } })], "spec.labels"],
    [
      "too many labels",
      () => [spec({ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) })],
      "spec.labels",
    ],
    ["negative timeout", () => [spec({ timeout: { seconds: -5, nanos: 0 } })], "spec.timeout"],
    ["zero timeout", () => [spec({ timeout: { seconds: 0, nanos: 0 } })], "spec.timeout"],
    ["absurd timeout", () => [spec({ timeout: { seconds: 30 * 86_400, nanos: 0 } })], "spec.timeout"],
    ["unknown restart policy", () => [spec({ restart: 42 as RestartPolicy })], "spec.restart"],
    ["unknown admission policy", () => [spec({ admission: 9 as AdmissionPolicy })], "spec.admission"],
    ["unknown trigger", () => [spec({ trigger: 77 as Trigger })], "spec.trigger"],
    ["negative max_attempts", () => [spec({ maxAttempts: -1 })], "spec.max_attempts"],
    [
      "max_attempts 3 with restart NEVER (it would be stored as 1)",
      () => [spec({ restart: RestartPolicy.RESTART_POLICY_NEVER, maxAttempts: 3 })],
      "spec.max_attempts",
    ],
    ["max_attempts 2 with restart unset (NEVER)", () => [spec({ maxAttempts: 2 })], "spec.max_attempts"],
    [
      "backoff max below initial",
      () => [
        spec({
          backoff: {
            initialDelay: { seconds: 10, nanos: 0 },
            maxDelay: { seconds: 1, nanos: 0 },
            multiplier: 2,
            jitter: Jitter.JITTER_NONE,
          },
        }),
      ],
      "spec.backoff.max_delay",
    ],
    [
      "backoff multiplier out of range",
      () => [spec({ backoff: { multiplier: 1000, jitter: Jitter.JITTER_NONE } })],
      "spec.backoff.multiplier",
    ],
    ["bad slot", () => [spec({ slot: "has space" })], "spec.slot"],
    [
      "IN selector without values",
      () => [
        spec({
          runnerSelector: {
            matchLabels: {},
            matchExpressions: [{ key: "zone", operator: SelectorOperator.SELECTOR_OPERATOR_IN, values: [] }],
          },
        }),
      ],
      "spec.runner_selector.match_expressions[0].values",
    ],
    [
      "EXISTS selector with values",
      () => [
        spec({
          runnerSelector: {
            matchLabels: {},
            matchExpressions: [{ key: "gpu", operator: SelectorOperator.SELECTOR_OPERATOR_EXISTS, values: ["x"] }],
          },
        }),
      ],
      "spec.runner_selector.match_expressions[0].values",
    ],
    [
      "unspecified selector operator",
      () => [
        spec({ runnerSelector: { matchLabels: {}, matchExpressions: [{ key: "gpu", operator: 0, values: [] }] } }),
      ],
      "spec.runner_selector.match_expressions[0].operator",
    ],
    [
      "bad selector key",
      () => [spec({ runnerSelector: { matchLabels: { "bad key": "v" }, matchExpressions: [] } })],
      "spec.runner_selector.match_labels",
    ],
    [
      "empty handler",
      () => [{ ...spec({}), exec: { $case: "embedded", value: { handler: "", payload: {} } } }],
      "spec.embedded.handler",
    ],
    [
      "oversize payload",
      () => [
        {
          ...spec({}),
          exec: { $case: "embedded", value: { handler: "h", payload: { blob: "x".repeat(300 * 1024) } } },
        },
      ],
      "spec.embedded.payload",
    ],
    // Lists nest two protobuf levels per JSON level (objects three), so 33 levels of lists still decode and meet the check.
    [
      "payload nested 33 levels deep",
      () => [{ ...spec({}), exec: { $case: "embedded", value: { handler: "h", payload: { root: nestedLists(32) } } } }],
      "spec.embedded.payload",
    ],
    [
      "missing wasm module",
      () => [{ ...spec({}), exec: { $case: "wasm", value: { modulePath: "", args: [], env: {} } } }],
      "spec.wasm.module_path",
    ],
    ["bad request_id", () => [spec({}), "not a valid id!"], "request_id"],
  ];

  for (const [name, args, field] of cases) {
    it(`${name} → INVALID_ARGUMENT at ${field}, nothing stored`, async () => {
      const before = await countAll();
      const error = await expectError(submit(...args()), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
      expect(error.fieldViolations.map((v) => v.field)).toContain(field);
      expect(error.fieldViolations.find((v) => v.field === field)!.description.length).toBeGreaterThan(0);
      expect(await countAll()).toBe(before);
    });
  }

  it("missing spec → INVALID_ARGUMENT at spec", async () => {
    const error = await expectError(
      call(rpc(server.tasks, "submitTask"), { requestId: "" }),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations).toEqual([{ field: "spec", description: "required" }]);
  });

  it("reports one violation per bad field", async () => {
    const error = await expectError(
      submit(subprocessSpec("", [], { timeout: { seconds: -1, nanos: 0 }, labels: { "!": "x" } })),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field).sort()).toEqual([
      "spec.labels",
      "spec.subprocess.command",
      "spec.timeout",
    ]);
  });
});

describe("request_id idempotency", () => {
  it("the same key and spec return the original task and store nothing new", async () => {
    const first = await submit(subprocessSpec("echo", ["once"]), "req-same-1");
    const before = await countAll();
    const again = await submit(subprocessSpec("echo", ["once"]), "req-same-1");
    expect(again.task!.id).toBe(first.task!.id);
    expect(await countAll()).toBe(before);
  });

  it("the same key with another spec fails ALREADY_EXISTS / REQUEST_ID_REUSED", async () => {
    const first = await submit(subprocessSpec("echo", ["a"]), "req-reuse-1");
    const error = await expectError(
      submit(subprocessSpec("echo", ["b"]), "req-reuse-1"),
      status.ALREADY_EXISTS,
      ErrorReason.REQUEST_ID_REUSED,
    );
    expect(error.metadata.task_id).toBe(first.task!.id);
  });

  it("a retried submit is answered with the original even when the slot is now busy", async () => {
    const slot = freshSlot();
    const first = await submit(subprocessSpec("echo", [], { slot }), "req-slot-1");
    const again = await submit(subprocessSpec("echo", [], { slot }), "req-slot-1");
    expect(again.task!.id).toBe(first.task!.id);
  });
});

describe("BatchSubmitTasks", () => {
  const batch = (requests: ReturnType<typeof submitRequest>[]) =>
    call(rpc(server.tasks, "batchSubmitTasks"), { requests, returnPartialSuccess: false });

  it("stores every task, in request order", async () => {
    const { tasks } = await batch([0, 1, 2].map((i) => submitRequest(subprocessSpec("echo", [String(i)]))));
    expect(tasks.map((t) => (t.spec!.exec as { value: { args: string[] } }).value.args[0])).toEqual(["0", "1", "2"]);
    for (const task of tasks) expect((await get(task.id)).task!.id).toBe(task.id);
  });

  it("is all or nothing: a refused submit undoes the whole batch", async () => {
    const slot = freshSlot();
    const before = await countAll();
    const error = await expectError(
      batch([
        submitRequest(subprocessSpec("a", [])),
        submitRequest(subprocessSpec("b", [], { slot })),
        submitRequest(subprocessSpec("c", [], { slot })),
      ]),
      status.FAILED_PRECONDITION,
      ErrorReason.SLOT_BUSY,
    );
    expect(error.metadata.request_index).toBe("2");
    expect(await countAll()).toBe(before);
  });

  it("names bad fields with their request index", async () => {
    const error = await expectError(
      batch([submitRequest(subprocessSpec()), submitRequest(subprocessSpec("", []))]),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["requests[1].spec.subprocess.command"]);
  });

  it("refuses an empty batch and one over 1000", async () => {
    await expectError(batch([]), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    const big = Array.from({ length: 1001 }, () => submitRequest(subprocessSpec()));
    const error = await expectError(batch(big), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(error.fieldViolations[0]!.field).toBe("requests");
  });

  it("refuses a batch over 3 MiB (its answer would not fit a default client's 4 MiB) and stores nothing", async () => {
    const before = await countAll();
    // 14 × 250 KB payloads (each valid on its own): 3.5 MB, under the 4 MiB a server receives.
    const big = Array.from({ length: 14 }, (_, i) =>
      submitRequest(
        TaskSpec.fromPartial({
          exec: { $case: "embedded", value: { handler: "h", payload: { blob: "x".repeat(250_000), i } } },
        }),
      ),
    );
    const error = await expectError(batch(big), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    expect(error.fieldViolations[0]).toMatchObject({
      field: "requests",
      description: expect.stringContaining("split it"),
    });
    expect(await countAll()).toBe(before);
    const { tasks } = await batch(big.slice(0, 7)); // half of it is fine
    expect(tasks).toHaveLength(7);
  });
});

describe("slot admission", () => {
  it("DROP_IF_RUNNING refuses a second task: FAILED_PRECONDITION / SLOT_BUSY with owner_task_id", async () => {
    const slot = freshSlot();
    const owner = await submit(subprocessSpec("sleep", ["1"], { slot }));
    const before = await countAll();
    const error = await expectError(
      submit(subprocessSpec("sleep", ["1"], { slot })),
      status.FAILED_PRECONDITION,
      ErrorReason.SLOT_BUSY,
    );
    expect(error.metadata.owner_task_id).toBe(owner.task!.id);
    expect(await countAll()).toBe(before);
  });

  it("QUEUE waits in a bounded FIFO and is promoted when the owner ends", async () => {
    const slot = freshSlot();
    const queue = { slot, admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE };
    const owner = await submit(subprocessSpec("true", [], { slot }));
    const first = await submit(subprocessSpec("true", [], queue));
    const second = await submit(subprocessSpec("true", [], queue));
    expect(first.task!.status!.reason).toBe(TaskReason.SLOT_QUEUED);
    const error = await expectError(
      submit(subprocessSpec("true", [], queue)),
      status.RESOURCE_EXHAUSTED,
      ErrorReason.SLOT_QUEUE_FULL,
    );
    expect(error.metadata).toMatchObject({ slot, limit: "2" });

    await cancel(owner.task!.id);
    expect((await get(first.task!.id)).task!.status!.reason).toBe(TaskReason.NO_MATCHING_RUNNER);
    expect((await get(second.task!.id)).task!.status!.reason).toBe(TaskReason.SLOT_QUEUED);
    // the promoted task now owns the slot
    const busy = await expectError(
      submit(subprocessSpec("true", [], { slot })),
      status.FAILED_PRECONDITION,
      ErrorReason.SLOT_BUSY,
    );
    expect(busy.metadata.owner_task_id).toBe(first.task!.id);
  });

  it("canceling a queued task leaves the owner and the rest of the queue alone", async () => {
    const slot = freshSlot();
    const queue = { slot, admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE };
    const owner = await submit(subprocessSpec("true", [], { slot }));
    const queued = await submit(subprocessSpec("true", [], queue));
    const canceled = await cancel(queued.task!.id);
    expect(canceled.task!.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    expect((await get(owner.task!.id)).task!.status!.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
  });

  it("REPLACE cancels the owner (reason REPLACED, naming the new task) and takes the slot", async () => {
    const slot = freshSlot();
    const owner = await submit(subprocessSpec("sleep", ["9"], { slot }));
    const replacement = await submit(
      subprocessSpec("sleep", ["9"], { slot, admission: AdmissionPolicy.ADMISSION_POLICY_REPLACE }),
    );
    const old = (await get(owner.task!.id)).task!;
    expect(old.status!.phase).toBe(TaskPhase.TASK_PHASE_CANCELED);
    expect(old.status!.reason).toBe(TaskReason.REPLACED);
    expect(old.status!.message).toContain(replacement.task!.id);
    const busy = await expectError(
      submit(subprocessSpec("true", [], { slot })),
      status.FAILED_PRECONDITION,
      ErrorReason.SLOT_BUSY,
    );
    expect(busy.metadata.owner_task_id).toBe(replacement.task!.id);
  });
});

describe("GetTask and CancelTask", () => {
  it("an unknown id is NOT_FOUND / TASK_NOT_FOUND", async () => {
    const id = "0190c5e2-7b1d-7c3a-8f00-0123456789ab";
    const error = await expectError(get(id), status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND);
    expect(error.metadata.task_id).toBe(id);
    await expectError(cancel(id), status.NOT_FOUND, ErrorReason.TASK_NOT_FOUND);
  });

  it("an empty or malformed id is INVALID_ARGUMENT at id", async () => {
    for (const id of ["", "not-a-uuid"]) {
      const error = await expectError(get(id), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
      expect(error.fieldViolations[0]!.field).toBe("id");
      await expectError(cancel(id), status.INVALID_ARGUMENT, ErrorReason.INVALID_REQUEST);
    }
  });

  it("cancel of a pending task ends it at once; a second cancel is OK and changes nothing", async () => {
    const { task } = await submit(subprocessSpec());
    const first = await cancel(task!.id, "no longer needed");
    expect(first.task!.status).toMatchObject({
      phase: TaskPhase.TASK_PHASE_CANCELED,
      reason: TaskReason.CANCELED_BY_CLIENT,
      message: "no longer needed",
    });
    expect(first.task!.status!.finishTime).toBeInstanceOf(Date);
    const second = await cancel(task!.id, "again");
    expect(second.task).toEqual(first.task);
  });

  it("a cancel reason over 1024 characters is INVALID_ARGUMENT at reason", async () => {
    const { task } = await submit(subprocessSpec());
    const error = await expectError(
      cancel(task!.id, "x".repeat(1025)),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    expect(error.fieldViolations[0]!.field).toBe("reason");
  });
});
