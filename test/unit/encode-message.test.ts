import { Task, TaskSpec } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { encodeMessage } from "../../server/src/core/encode.js";
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
