import { Task, TaskSpec } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { encodeMessage, encodeSpec, encodeTask } from "../../server/src/core/encode.js";
import { specOf, T0, taskId, taskOf } from "../helpers/write-view.js";

const fresh = <T>(codec: { encode(message: T): { finish(): Uint8Array } }, message: T) =>
  Buffer.from(codec.encode(message).finish());

describe("encodeMessage (one shared writer)", () => {
  it("gives ts-proto's bytes, each message in a buffer of its own, whatever came before", () => {
    const small = taskOf(taskId(1), specOf(), "none");
    const large = taskOf(taskId(2), specOf({ labels: { note: "x".repeat(60) } }), "none");
    const huge = { ...large, status: { ...large.status!, message: "m".repeat(100_000) } };
    const first = encodeMessage(Task, small);
    const kept = Buffer.from(first);
    for (const task of [large, huge, small, large]) {
      const bytes = encodeMessage(Task, task);
      expect(Buffer.from(bytes).equals(fresh(Task, task))).toBe(true);
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    }
    // A later encoding does not write into an earlier result.
    expect(Buffer.from(first).equals(kept)).toBe(true);
    expect(Buffer.from(encodeMessage(TaskSpec, small.spec!)).equals(fresh(TaskSpec, small.spec!))).toBe(true);
  });

  it("a message that fails half way does not prefix the next one", () => {
    const bad = { ...taskOf(taskId(3), specOf(), "none"), createTime: new Date(T0), revision: Number.NaN };
    const broken = { ...bad, spec: { ...bad.spec!, maxAttempts: 2 ** 40 } };
    expect(() => encodeMessage(Task, broken)).toThrow();
    const next = taskOf(taskId(4), specOf(), "none");
    expect(Buffer.from(encodeMessage(Task, next)).equals(fresh(Task, next))).toBe(true);
  });
});

describe("encodeTask (the spec's bytes copied in)", () => {
  const spec = specOf({ slot: "s", labels: { b: "2", a: "1" }, priority: -4 });
  const tasks = [
    taskOf(taskId(10), spec, "owner"),
    { ...taskOf(taskId(11), spec, "queued"), revision: 2 ** 40, requestId: "r-11" },
    { ...taskOf(taskId(12), spec, "none"), id: "" },
    { ...taskOf(taskId(13), spec, "none"), spec: undefined },
    {
      ...taskOf(taskId(14), spec, "none"),
      status: { ...taskOf(taskId(14), spec, "none").status!, message: "é".repeat(70_000) },
    },
  ];

  it("is byte for byte Task.encode, however often a spec is shared", () => {
    for (const round of [1, 2])
      for (const task of tasks)
        expect(Buffer.from(encodeTask(task)).equals(fresh(Task, task)), `round ${round}`).toBe(true);
  });

  it("encodes a spec object once", () => {
    const bytes = encodeSpec(spec);
    expect(encodeSpec(spec)).toBe(bytes);
    expect(Buffer.from(bytes).equals(fresh(TaskSpec, spec))).toBe(true);
    expect(encodeSpec({ ...spec })).not.toBe(bytes);
  });
});
