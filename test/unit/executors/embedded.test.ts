import { describe, expect, it } from "vitest";
import { type EmbeddedHandler, EmbeddedRegistry, resultOf } from "../../../sdk/src/executors/embedded.js";
import type { ExecutionContext, OutputStreamName } from "../../../sdk/src/executors/types.js";
import { RetryAfter } from "../../../sdk/src/retry-after.js";

function recorder(options: { deadlineInMs?: number; gracePeriodMs?: number; signal?: AbortSignal } = {}) {
  const chunks: { stream: OutputStreamName; text: string }[] = [];
  const ctx: ExecutionContext = {
    signal: options.signal ?? new AbortController().signal,
    deadline: new Date(Date.now() + (options.deadlineInMs ?? 30_000)),
    gracePeriodMs: options.gracePeriodMs ?? 2_000,
    onOutput: (stream, data) => chunks.push({ stream, text: data.toString() }),
  };
  return { ctx, chunks };
}

const run = (handler: EmbeddedHandler, payload: Record<string, unknown> | undefined, ctx: ExecutionContext) =>
  new EmbeddedRegistry().handle("h", handler).execute({ handler: "h", payload }, ctx);

/** Resolves when the signal aborts, with the reason's name. */
const aborted = (signal: AbortSignal) =>
  new Promise<string>((resolve) => signal.addEventListener("abort", () => resolve((signal.reason as Error).name)));

describe("EmbeddedRegistry", () => {
  it("keeps handlers by name", () => {
    const registry = new EmbeddedRegistry().handle("a", () => 1).handle("b", () => 2);
    expect(registry.names()).toEqual(["a", "b"]);
    expect(registry.has("a")).toBe(true);
    expect(registry.has("c")).toBe(false);
  });

  it("calls the handler with the payload and reports a returned object as the result", async () => {
    const result = await run(({ a, b }) => ({ sum: (a as number) + (b as number) }), { a: 1, b: 2 }, recorder().ctx);
    expect(result).toEqual({ outcome: "succeeded", result: { sum: 3 } });
  });

  it("gives the handler an empty payload when the spec has none", async () => {
    let seen: unknown;
    await run((payload) => void (seen = payload), undefined, recorder().ctx);
    expect(seen).toEqual({});
  });

  it.each([
    [42, { value: 42 }],
    ["text", { value: "text" }],
    [null, { value: null }],
    [[1, 2], { value: [1, 2] }],
    [undefined, undefined],
  ])("wraps a returned %j", async (returned, expected) => {
    const result = await run(async () => returned, {}, recorder().ctx);
    expect(result.outcome).toBe("succeeded");
    expect(result.result).toEqual(expected);
  });

  it("reports what JSON keeps of a result", () => {
    expect(resultOf({ when: new Date(0), gone: undefined })).toEqual({ when: "1970-01-01T00:00:00.000Z" });
    expect(resultOf(() => 1)).toBeUndefined();
  });

  it("reports a result JSON cannot hold as failed", async () => {
    const result = await run(() => ({ big: 1n }), {}, recorder().ctx);
    expect(result).toMatchObject({
      outcome: "failed",
      error: expect.stringMatching(/^the handler's result is not JSON: /),
    });
  });

  it("reports a thrown error or a rejection as failed, with its message", async () => {
    expect(
      await run(
        () => {
          throw new Error("boom");
        },
        {},
        recorder().ctx,
      ),
    ).toEqual({ outcome: "failed", error: "boom" });
    expect(await run(async () => Promise.reject(new Error("later")), {}, recorder().ctx)).toEqual({
      outcome: "failed",
      error: "later",
    });
  });

  it("reports an unknown handler as failed", async () => {
    const result = await new EmbeddedRegistry().execute({ handler: "nope", payload: {} }, recorder().ctx);
    expect(result).toEqual({ outcome: "failed", error: 'no handler "nope" registered' });
  });

  it("writes log lines to stdout, and drops them once the run is over", async () => {
    const { ctx, chunks } = recorder();
    let logLater!: (line: string) => void;
    await run(
      (_, { log }) => {
        log("first");
        log("second");
        logLater = log;
      },
      {},
      ctx,
    );
    logLater("too late");
    expect(chunks).toEqual([
      { stream: "stdout", text: "first\n" },
      { stream: "stdout", text: "second\n" },
    ]);
  });

  describe("cancel and deadline", () => {
    it("aborts the handler's signal on cancel and reports canceled", async () => {
      const controller = new AbortController();
      let reason: string | undefined;
      const result = await run(
        async (_, { signal }) => {
          const abort = aborted(signal); // the handler is running and listening: now the cancel comes
          controller.abort();
          reason = await abort;
          throw signal.reason;
        },
        {},
        recorder({ signal: controller.signal }).ctx,
      );
      expect(result.outcome).toBe("canceled");
      expect(reason).toBe("AbortError");
    });

    it("aborts the handler's signal at the deadline and reports timeout, even when the handler then returns", async () => {
      let reason: string | undefined;
      const result = await run(
        async (_, { signal }) => {
          reason = await aborted(signal);
          return { partial: true };
        },
        {},
        recorder({ deadlineInMs: 200 }).ctx,
      );
      expect(result).toEqual({ outcome: "timeout" });
      expect(reason).toBe("TimeoutError");
    });

    it("gives up on a handler that ignores its signal once the grace period is over", async () => {
      const never = new Promise<never>(() => {});
      const result = await run(() => never, {}, recorder({ deadlineInMs: 200, gracePeriodMs: 200 }).ctx);
      expect(result).toEqual({ outcome: "timeout" });
    });

    it("does not call the handler when already canceled", async () => {
      const controller = new AbortController();
      controller.abort();
      let called = false;
      const result = await run(() => (called = true), {}, recorder({ signal: controller.signal }).ctx);
      expect(result).toEqual({ outcome: "canceled" });
      expect(called).toBe(false);
    });

    it("is not fooled by a deadline beyond the longest timer node allows", async () => {
      const result = await run(
        async (_, { signal }) => {
          // scenario pause: a handler at work for longer than the 1 ms an overflowed deadline timer fires after
          await new Promise((resolve) => setTimeout(resolve, 100));
          return { aborted: signal.aborted };
        },
        {},
        recorder({ deadlineInMs: 60 * 24 * 3600_000 }).ctx,
      );
      expect(result).toEqual({ outcome: "succeeded", result: { aborted: false } });
    });
  });
});

describe("EmbeddedRegistry: RetryAfter", () => {
  it("a RetryAfter thrown or returned fails the run with a retry-after (the key, if named)", async () => {
    const thrown = await run(
      () => {
        throw new RetryAfter(1500, { key: "vendor-x", message: "429" });
      },
      {},
      recorder().ctx,
    );
    expect(thrown).toEqual({ outcome: "failed", error: "429", retryAfterMs: 1500, retryAfterKey: "vendor-x" });
    const returned = await run(async () => new RetryAfter("2m"), {}, recorder().ctx);
    expect(returned).toEqual({ outcome: "failed", error: "retry after 2m", retryAfterMs: 120_000 });
  });

  it("one from another copy of the SDK (same name and shape) counts too; a look-alike with a bad shape does not", async () => {
    const foreign = Object.assign(new Error("slow down"), { name: "RetryAfter", delayMs: 250 });
    expect(await run(() => Promise.reject(foreign), {}, recorder().ctx)).toMatchObject({ retryAfterMs: 250 });
    const odd = Object.assign(new Error("no"), { name: "RetryAfter", delayMs: "soon" });
    expect(await run(() => Promise.reject(odd), {}, recorder().ctx)).toEqual({ outcome: "failed", error: "no" });
  });

  it.each([0, -1, 86_400_001, Number.NaN, "0s", "25h"])("new RetryAfter(%j) throws a RangeError", (delay) => {
    expect(() => new RetryAfter(delay as number)).toThrow(RangeError);
  });
});
