import {
  embedded,
  RetryAfter,
  Runner,
  type SpecOptions,
  SupervisorClient,
  type Task,
  TaskReason,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { scrape } from "./helpers/metrics.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

// Issue 21's "concurrency-key and rate-limit waits": supervisor_dispatch_holds_total counts each time the
// leader's dispatch holds a pending task back, by what held it. Known holds, then exact counts from /metrics.

let server: TestServer | undefined;
let client: SupervisorClient | undefined;
let runner: Runner | undefined;
afterEach(async () => {
  client?.close();
  await runner?.stop();
  await server?.close();
  server = client = runner = undefined;
});

const HOLDS = "supervisor_dispatch_holds_total";

describe("metrics: dispatch holds", () => {
  it("counts the tasks held by a concurrency key, a rate limit, a retry-after pause and a dispatch pause", {
    timeout: 60_000,
  }, async () => {
    server = await startTestServer({ metricsListen: "127.0.0.1:0" });
    const address = server.server.metricsAddress!;
    client = new SupervisorClient({ address: server.address });
    runner = new Runner({ address: server.address, name: "holds-runner", capacity: 10, kinds: ["embedded:work"] });
    runner.handle("work", async (payload, ctx) => {
      if (payload.push) throw new RetryAfter(600_000);
      // Holds its concurrency key until canceled.
      if (payload.hang) await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    });
    await runner.start();
    const before = await scrape(address);
    for (const kind of ["concurrency_key", "rate_limit", "retry_after", "dispatch_pause"]) {
      expect(before.value(HOLDS, { kind })).toBe(0);
    }
    const work = (payload: Record<string, unknown>, options: SpecOptions) =>
      client!.submit(embedded("work", payload, options));
    const reasonOf = async (task: Task, reason: string) =>
      waitUntil(async () => (await client!.get(task.id)).status!.reason === reason, `${task.id} to say ${reason}`);

    // A concurrency key at its limit of 1: the second task is held.
    const one = { concurrency: [{ key: "one-at-a-time", maxRunning: 1 }] };
    // Ended by a cancel at the end (or its 10 s timeout, if the test fails first).
    const hanging = await work({ hang: true }, { ...one, timeout: { seconds: 10, nanos: 0 } });
    await reasonOf(await work({}, one), TaskReason.CONCURRENCY_LIMITED);
    // A rate limit of one a minute: the second task is held.
    const slow = { rateLimits: [{ key: "slow", perMinute: 1 }] };
    await work({}, slow);
    await reasonOf(await work({}, slow), TaskReason.RATE_LIMITED);
    // A retry-after pauses the key: the next task of it is held.
    const vendor = { concurrency: [{ key: "vendor", maxRunning: 100 }] };
    await reasonOf(await work({ push: true }, vendor), TaskReason.RETRY_AFTER);
    await reasonOf(await work({}, vendor), TaskReason.RATE_LIMITED);
    // A dispatch pause: its task is held.
    await client.dispatch.pause({ id: "hold-these", labelSelector: "held=yes" });
    await reasonOf(await work({}, { labels: { held: "yes" } }), TaskReason.DISPATCH_PAUSED);

    const after = await scrape(address);
    expect(after.value(HOLDS, { kind: "concurrency_key" })).toBe(1);
    expect(after.value(HOLDS, { kind: "rate_limit" })).toBe(1);
    expect(after.value(HOLDS, { kind: "retry_after" })).toBe(1);
    expect(after.value(HOLDS, { kind: "dispatch_pause" })).toBe(1);
    // One series per kind, none per key (keys are unbounded).
    expect(after.samples.filter((sample) => sample.name === HOLDS)).toHaveLength(4);
    await client.cancel(hanging.id);
  });
});
