/**
 * ListTasks pages and watch events are built as protobuf bytes by hand
 * (stored Task bytes spliced in, field tags written out). These tests hold
 * them to ts-proto's own encoding, byte for byte, and fail when the response
 * messages grow a field the hand-written code does not write.
 */
import { readFileSync } from "node:fs";
import { createFileRegistry, type DescField, type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  AdmissionPolicy,
  BatchSubmitTasksRequest,
  BatchSubmitTasksResponse,
  EventType,
  Jitter,
  ListTasksResponse,
  Placement,
  RestartPolicy,
  SelectorOperator,
  SubmitTaskResponse,
  Task,
  TaskPhase,
  TaskReason,
  TaskServiceService,
  Trigger,
  WatchTasksResponse,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { compileFilter } from "../../server/src/core/task-filter.js";
import { DESCRIPTOR_SET_PATH } from "../../server/src/reflection.js";
import {
  batchBytesOf,
  batchSubmitTasksWire,
  listTasksWire,
  submitTaskWire,
  TASK_SERVICE_DEFINITION,
} from "../../server/src/services/task-service-definition.js";
import type { TaskChange } from "../../server/src/store/backend.js";
import { addedEvent, eventFor } from "../../server/src/watch/watch-event.js";
import { T0, taskId } from "../helpers/write-view.js";

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET_PATH)));
const message = (typeName: string): DescMessage => {
  const desc = registry.getMessage(typeName);
  if (!desc) throw new Error(`${typeName} is not in the descriptor set`);
  return desc;
};

type Exec = NonNullable<Task["spec"]>["exec"];

/** A task with every field of Task and of the messages inside it set, running `exec`. */
function fullTask(n: number, exec: Exec): Task {
  return {
    id: taskId(n),
    spec: {
      slot: "reports/nightly",
      exec,
      timeout: { seconds: 90, nanos: 500_000_000 },
      restart: RestartPolicy.RESTART_POLICY_ON_FAILURE,
      maxAttempts: 5,
      backoff: {
        initialDelay: { seconds: 1, nanos: 250_000_000 },
        maxDelay: { seconds: 60, nanos: 0 },
        multiplier: 1.5,
        jitter: Jitter.JITTER_DECORRELATED,
      },
      admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
      runnerSelector: {
        matchLabels: { zone: "eu", arch: "arm64" },
        matchExpressions: [{ key: "gpu", operator: SelectorOperator.SELECTOR_OPERATOR_IN, values: ["a100", "h100"] }],
      },
      labels: { team: "data", "example.com/tier": "gold" },
      priority: -3,
      notBefore: new Date(T0 + 1_000),
      trigger: Trigger.TRIGGER_SCHEDULE,
      signature: { keyId: "ops-2030", signature: Buffer.alloc(64, 7) },
      scheduledBy: { scheduleId: "nightly", nominalTime: new Date(T0 - 1_000) },
      placement: Placement.PLACEMENT_EACH_MATCHING_RUNNER,
      fanOutWindow: { seconds: 30, nanos: 0 },
      maxFailed: 2,
      init: [{ command: "/bin/prepare", args: ["--fast"], env: { C: "3" }, workingDir: "/tmp" }],
      pinnedRunnerId: "0190c5e2-7b1d-7c3a-8f00-00000000bbbb",
      concurrency: [{ key: "tenant-a", maxRunning: 5 }],
      fairness: { key: "tenant-a", weight: 3 },
      rateLimits: [
        { key: "vendor-x", perSecond: 2.5, perMinute: 0, burst: 4 },
        { key: "vendor-y", perSecond: 0, perMinute: 90, burst: 0 },
      ],
    },
    status: {
      phase: TaskPhase.TASK_PHASE_RUNNING,
      attempt: 4,
      runnerId: "0190c5e2-7b1d-7c3a-8f00-00000000aaaa",
      exitCode: 0,
      reason: TaskReason.CANCELED_BY_CLIENT,
      message: "stop; é 🙂",
      startTime: new Date(T0 + 2_000),
      finishTime: new Date(T0 + 3_000),
      nextAttemptTime: new Date(T0 + 4_000),
      cancelRequested: true,
      runCounts: { succeeded: 1, failed: 2, timeout: 3, canceled: 4, lost: 5, deferred: 6 },
      prunedRuns: 2,
      lastBackoff: { seconds: 7, nanos: 1_000_000 },
      fanOut: { children: 6, pending: 1, running: 1, succeeded: 1, failed: 2, canceled: 1 },
    },
    createTime: new Date(T0),
    updateTime: new Date(T0 + 5_000),
    revision: 2 ** 40 + n,
    requestId: `request-${n}`,
    parentId: taskId(n + 100),
    rerunOf: taskId(n + 200),
    traceparent: `00-${"ab".repeat(16)}-${"cd".repeat(8)}-01`,
  };
}

const TASKS = [
  fullTask(1, {
    $case: "subprocess",
    value: { command: "/bin/report", args: ["--all", ""], env: { A: "1" }, workingDir: "/srv" },
  }),
  fullTask(2, {
    $case: "embedded",
    value: { handler: "resize", payload: { width: 640, tags: ["a", null, true], nested: { deep: { x: -1.5 } } } },
  }),
  fullTask(3, { $case: "wasm", value: { modulePath: "/opt/m.wasm", args: ["x"], env: { B: "2" } } }),
  fullTask(4, {
    $case: "container",
    value: {
      image: "/srv/images/busybox",
      command: "/bin/sh",
      args: ["-c", "echo hi"],
      env: { D: "4" },
      workingDir: "/work",
      mounts: [{ source: "/data", target: "/data", readOnly: true }],
      network: true,
    },
  }),
];
const STORED = TASKS.map((task) => Task.encode(task).finish());

/** "Type.field" for every field reachable from `desc` through messages of package supervisor.v1. */
function fieldsReachable(desc: DescMessage, into = new Set<string>()): Set<string> {
  for (const field of desc.fields) {
    const name = `${desc.typeName}.${field.name}`;
    if (into.has(name)) continue;
    into.add(name);
    const inner = messageOf(field);
    if (inner?.typeName.startsWith("supervisor.v1.")) fieldsReachable(inner, into);
  }
  return into;
}

const messageOf = (field: DescField): DescMessage | undefined =>
  field.fieldKind === "message" ||
  (field.fieldKind === "list" && field.listKind === "message") ||
  (field.fieldKind === "map" && field.mapKind === "message")
    ? field.message
    : undefined;

/** "Type.field" for every field set in `value`, through messages of package supervisor.v1. */
function fieldsSet(value: ReflectMessage, into = new Set<string>()): Set<string> {
  for (const field of value.fields) {
    if (!value.isSet(field)) continue;
    into.add(`${value.desc.typeName}.${field.name}`);
    if (!messageOf(field)?.typeName.startsWith("supervisor.v1.")) continue;
    if (field.fieldKind === "message") fieldsSet(value.get(field), into);
    else if (field.fieldKind === "list") for (const item of value.get(field)) fieldsSet(item as ReflectMessage, into);
    else if (field.fieldKind === "map")
      for (const [, item] of value.get(field)) fieldsSet(item as ReflectMessage, into);
  }
  return into;
}

/** The field numbers that occur at the top level of encoded `bytes`. */
function topLevelFields(bytes: Uint8Array): Set<number> {
  const reader = new BinaryReader(bytes);
  const numbers = new Set<number>();
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    numbers.add(fieldNo);
    reader.skip(wireType);
  }
  return numbers;
}

const fieldNumbers = (typeName: string) => new Set(message(typeName).fields.map((field) => field.number));
const bytesOf = (value: unknown) => Buffer.from(value as Buffer);

describe("the task fixtures", () => {
  it("set every field a Task can carry (one exec each), so the comparisons below cover them all", () => {
    const taskDesc = message("supervisor.v1.Task");
    const set = new Set<string>();
    for (const bytes of STORED) fieldsSet(reflect(taskDesc, fromBinary(taskDesc, bytes)), set);
    expect([...fieldsReachable(taskDesc)].filter((name) => !set.has(name))).toEqual([]);
  });

  it("survive a decode and re-encode unchanged, so stored bytes are what ts-proto would send", () => {
    for (const bytes of STORED)
      expect(Buffer.from(Task.encode(Task.decode(bytes)).finish())).toEqual(Buffer.from(bytes));
  });
});

describe("listTasksWire", () => {
  const pages: [string, Uint8Array[], string, number][] = [
    ["a full page", STORED, "opaque-token_-", 2 ** 40 + 17],
    ["the last page", STORED.slice(0, 1), "", 3],
    ["an empty page", [], "", 5],
    ["an empty journal", [], "", 0],
  ];

  it.each(pages)("%s is byte for byte what ListTasksResponse.encode makes", (_, stored, nextPageToken, revision) => {
    const response: ListTasksResponse = { tasks: stored.map((bytes) => Task.decode(bytes)), nextPageToken, revision };
    const wire = bytesOf(listTasksWire(stored, nextPageToken, revision));
    expect(wire).toEqual(Buffer.from(ListTasksResponse.encode(response).finish()));
    expect(ListTasksResponse.decode(wire)).toEqual(response);
  });

  it("writes every field ListTasksResponse has", () => {
    const wire = bytesOf(listTasksWire(STORED, "token", 9));
    expect(topLevelFields(wire)).toEqual(fieldNumbers("supervisor.v1.ListTasksResponse"));
  });

  it("goes out as it is, while a response message is encoded by ts-proto", () => {
    const serialize = TASK_SERVICE_DEFINITION.listTasks.responseSerialize;
    const wire = listTasksWire(STORED, "token", 9);
    expect(serialize(wire)).toBe(wire);
    const response = ListTasksResponse.decode(bytesOf(wire));
    expect(serialize(response)).toEqual(bytesOf(wire));
  });
});

describe("submit answers from the stored bytes", () => {
  // A task whose encoding needs a 3-byte length (the fixtures need 2), and one of 4 bytes.
  const long = (n: number, chars: number) => ({
    ...TASKS[0]!,
    status: { ...TASKS[0]!.status!, message: "m".repeat(chars) },
    id: taskId(n),
  });
  const all = [...TASKS, long(4, 20_000), long(5, 2_200_000)];
  const stored = all.map((task) => Task.encode(task).finish());

  it("SubmitTaskResponse is byte for byte what ts-proto makes, and goes out as it is", () => {
    for (const [index, bytes] of stored.entries()) {
      const wire = submitTaskWire(bytes);
      const expected = Buffer.from(SubmitTaskResponse.encode({ task: all[index] }).finish());
      // equals, not toEqual: a diff of 2 MB buffers byte by byte takes seconds.
      expect(bytesOf(wire).equals(expected)).toBe(true);
      expect(TASK_SERVICE_DEFINITION.submitTask.responseSerialize(wire)).toBe(wire);
    }
    expect(topLevelFields(bytesOf(submitTaskWire(stored[0]!)))).toEqual(
      fieldNumbers("supervisor.v1.SubmitTaskResponse"),
    );
  });

  it("BatchSubmitTasksResponse is byte for byte what ts-proto makes, with and without failed requests", () => {
    const failedRequests = {
      1: { code: 9, message: "slot busy", details: [] },
      7: { code: 3, message: "", details: [] },
    };
    for (const failed of [{}, failedRequests]) {
      const wire = batchSubmitTasksWire(stored, failed);
      const expected = BatchSubmitTasksResponse.encode({ tasks: all, failedRequests: failed }).finish();
      expect(bytesOf(wire).equals(expected)).toBe(true);
      expect(TASK_SERVICE_DEFINITION.batchSubmitTasks.responseSerialize(wire)).toBe(wire);
    }
    expect(topLevelFields(bytesOf(batchSubmitTasksWire(stored, failedRequests)))).toEqual(
      fieldNumbers("supervisor.v1.BatchSubmitTasksResponse"),
    );
    expect(bytesOf(batchSubmitTasksWire([]))).toEqual(Buffer.alloc(0));
  });

  it("a response message is still encoded by ts-proto on the way out", () => {
    const response = { task: TASKS[0] };
    expect(TASK_SERVICE_DEFINITION.submitTask.responseSerialize(response)).toEqual(
      Buffer.from(SubmitTaskResponse.encode(response).finish()),
    );
  });
});

/** A change of task `task` at its revision, as the backend publishes it (with the stored bytes). */
const changeOf = (task: Task, type: EventType, previousPhase?: TaskPhase): TaskChange => ({
  revision: task.revision,
  type,
  task,
  encoded: Task.encode(task).finish(),
  previous:
    previousPhase === undefined
      ? undefined
      : {
          id: task.id,
          slot: task.spec!.slot,
          labels: task.spec!.labels,
          phase: previousPhase,
          runnerId: "",
          parentId: task.parentId,
        },
});

describe("watch events", () => {
  const task = TASKS[1]!;
  const everything = compileFilter(undefined);
  const running = compileFilter({
    slot: "",
    phases: [TaskPhase.TASK_PHASE_RUNNING],
    labelSelector: "",
    runnerId: "",
    idPrefix: "",
    parentId: "",
  });
  const cases: [string, TaskChange, ReturnType<typeof compileFilter>, EventType][] = [
    ["ADDED", changeOf(task, EventType.EVENT_TYPE_ADDED), everything, EventType.EVENT_TYPE_ADDED],
    [
      "MODIFIED",
      changeOf(task, EventType.EVENT_TYPE_MODIFIED, TaskPhase.TASK_PHASE_PENDING),
      everything,
      EventType.EVENT_TYPE_MODIFIED,
    ],
    ["DELETED", changeOf(task, EventType.EVENT_TYPE_DELETED), everything, EventType.EVENT_TYPE_DELETED],
    [
      "MODIFIED into the filter (ADDED)",
      changeOf(task, EventType.EVENT_TYPE_MODIFIED, TaskPhase.TASK_PHASE_PENDING),
      running,
      EventType.EVENT_TYPE_ADDED,
    ],
    [
      "MODIFIED out of the filter (DELETED)",
      changeOf(
        { ...task, status: { ...task.status!, phase: TaskPhase.TASK_PHASE_SUCCEEDED } },
        EventType.EVENT_TYPE_MODIFIED,
        TaskPhase.TASK_PHASE_RUNNING,
      ),
      running,
      EventType.EVENT_TYPE_DELETED,
    ],
  ];

  it.each(cases)("%s is byte for byte what WatchTasksResponse.encode makes", (_, change, filter, type) => {
    const event = eventFor(change, filter);
    expect(Buffer.isBuffer(event)).toBe(true);
    const expected: WatchTasksResponse = { type, task: change.task, revision: change.revision };
    expect(bytesOf(event)).toEqual(Buffer.from(WatchTasksResponse.encode(expected).finish()));
    expect(WatchTasksResponse.decode(bytesOf(event))).toEqual(expected);
    // One encoding per change and type, shared by every watcher.
    expect(eventFor(change, filter)).toBe(event);
  });

  it("a send_initial snapshot event is byte for byte an ADDED WatchTasksResponse", () => {
    for (const [index, bytes] of STORED.entries()) {
      const expected = { type: EventType.EVENT_TYPE_ADDED, task: TASKS[index], revision: TASKS[index]!.revision };
      expect(addedEvent(bytes, expected.revision)).toEqual(Buffer.from(WatchTasksResponse.encode(expected).finish()));
    }
  });

  it("writes every field WatchTasksResponse has", () => {
    expect(topLevelFields(addedEvent(STORED[0]!, 12))).toEqual(fieldNumbers("supervisor.v1.WatchTasksResponse"));
  });

  it("a change without stored bytes is a message, encoded by ts-proto on the way out", () => {
    const change: TaskChange = { revision: 4, type: EventType.EVENT_TYPE_ADDED, task };
    const event = eventFor(change, everything) as WatchTasksResponse;
    expect(event).toEqual({ type: EventType.EVENT_TYPE_ADDED, task, revision: 4 });
    expect(TASK_SERVICE_DEFINITION.watchTasks.responseSerialize(event)).toEqual(
      Buffer.from(WatchTasksResponse.encode(event).finish()),
    );
    const wire = addedEvent(STORED[1]!, 4);
    expect(TASK_SERVICE_DEFINITION.watchTasks.responseSerialize(wire)).toBe(wire);
  });

  it("a change wholly outside the filter is not sent", () => {
    const other = compileFilter({
      slot: "elsewhere",
      phases: [],
      labelSelector: "",
      runnerId: "",
      idPrefix: "",
      parentId: "",
    });
    expect(
      eventFor(changeOf(task, EventType.EVENT_TYPE_MODIFIED, TaskPhase.TASK_PHASE_PENDING), other),
    ).toBeUndefined();
  });
});

describe("batchBytesOf", () => {
  it("is the size of the BatchSubmitTasksRequest as it arrived, decoded as ts-proto decodes it", () => {
    const request: BatchSubmitTasksRequest = {
      requests: TASKS.map((t) => ({ spec: t.spec, requestId: t.requestId })),
      returnPartialSuccess: false,
    };
    const bytes = Buffer.from(BatchSubmitTasksRequest.encode(request).finish());
    const decoded = TASK_SERVICE_DEFINITION.batchSubmitTasks.requestDeserialize(bytes);
    expect(decoded).toEqual(BatchSubmitTasksRequest.decode(bytes));
    expect(batchBytesOf(decoded)).toBe(bytes.length);
    expect(batchBytesOf(request)).toBe(0);
  });

  it("leaves the rest of the generated definition as it is", () => {
    const changed = ["submitTask", "batchSubmitTasks", "listTasks", "watchTasks"];
    const definition: Record<string, unknown> = TASK_SERVICE_DEFINITION;
    expect(Object.keys(definition).sort()).toEqual(Object.keys(TaskServiceService).sort());
    for (const [name, generated] of Object.entries(TaskServiceService)) {
      if (changed.includes(name)) expect(definition[name]).toMatchObject({ path: generated.path });
      else expect(definition[name]).toBe(generated);
    }
  });
});
