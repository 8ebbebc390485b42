import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  ErrorReason,
  embedded,
  type RateLimit,
  Runner,
  SupervisorClient,
  type SupervisorError,
  subprocess,
  type Task,
  TaskPhase,
  TaskReason,
} from "@supervisor/sdk";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { ConfigError, loadConfig } from "../server/src/config.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { expectError } from "./helpers/grpc.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { waitUntil } from "./helpers/wait.js";

// Token buckets per key on a real server and a real runner, on a fake clock: the clock is moved one token
// interval at a time and the test waits for the starts that interval allows, so every count is exact and
// nothing depends on how fast this machine is. Each start is then read back from the store (its run's
// assign_time) and the rate measured there.

const T0 = Date.UTC(2030, 0, 1);

let server: TestServer | undefined;
let client: SupervisorClient | undefined;
let runner: Runner | undefined;
/** How many runs the runner was given (its handler ran once for each). */
let started = 0;

afterEach(async () => {
  client?.close();
  await runner?.stop();
  await server?.close();
  server = client = runner = undefined;
});

async function start(clock: FakeClock, settings: Record<string, string> = {}): Promise<SupervisorClient> {
  // A lease longer than the test: the runner heartbeats on real time, the server counts on the fake clock.
  server = await startTestServer({ leaseTtl: "24h", ...settings }, { clock, timers: clock });
  client = new SupervisorClient({ address: server.address });
  started = 0;
  runner = new Runner({ address: server.address, name: "rate-runner", capacity: 500, kinds: ["embedded:count"] });
  runner.handle("count", () => {
    started++;
  });
  await runner.start();
  return client;
}

const limited = (rateLimits: Partial<RateLimit>[], labels: Record<string, string> = {}) =>
  embedded("count", {}, { labels, rateLimits });

/** Submits `count` tasks in batches. */
async function submitMany(spec: ReturnType<typeof limited>, count: number): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let done = 0; done < count; done += 500) {
    tasks.push(...(await client!.submitBatch(Array.from({ length: Math.min(500, count - done) }, () => spec))));
  }
  return tasks;
}

/** Moves the clock to `atMs` and waits until the runner has been given `count` runs in all. */
async function startsBy(clock: FakeClock, atMs: number, count: number): Promise<void> {
  await clock.advanceToAsync(atMs);
  await waitUntil(
    async () => {
      await clock.advanceAsync(0); // a timer armed for this very instant fires
      return started >= count;
    },
    `${count} starts by ${atMs - T0} ms`,
  );
}

/** Every run's assign time (ms) of `tasks`, from the store, sorted. */
async function assignTimes(tasks: readonly Task[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < tasks.length; i += 50) {
    const runs = await Promise.all(tasks.slice(i, i + 50).map((task) => client!.listRuns(task.id)));
    for (const run of runs.flat()) times.push(run.assignTime!.getTime());
  }
  return times.sort((a, b) => a - b);
}

describe("rate limits on a fake clock", () => {
  it("20/s with burst 1 over 10 s: 200 starts (±5 %), never two within 50 ms", { timeout: 180_000 }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const tasks = await submitMany(limited([{ key: "vendor", perSecond: 20, burst: 1 }]), 260);
    // One at once, then one per 50 ms: the clock moves a token at a time, and the test waits for each start.
    for (let elapsed = 0; elapsed <= 10_000; elapsed += 50) await startsBy(clock, T0 + elapsed, elapsed / 50 + 1);
    const times = await assignTimes(tasks);
    const inTenSeconds = times.filter((ms) => ms >= T0 && ms < T0 + 10_000);
    expect(inTenSeconds.length).toBeGreaterThanOrEqual(190);
    expect(inTenSeconds.length).toBeLessThanOrEqual(210);
    expect(times.length).toBe(201); // none more by T0 + 10 s
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(50);
    // The rest wait, and say why: the key, its rate and when its next token is due.
    const waiting = (await client!.get(tasks.at(-1)!.id)).status!;
    expect(waiting.phase).toBe(TaskPhase.TASK_PHASE_PENDING);
    expect(waiting.reason).toBe(TaskReason.RATE_LIMITED);
    expect(waiting.message).toMatch(/^rate limit vendor \(20\/s, burst 1\) has no token: the next is due at 2030-/);
  });

  it("burst B lets B start at once after a quiet spell, then one per interval", { timeout: 120_000 }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const spec = limited([{ key: "bursty", perSecond: 10, burst: 5 }]);
    const first = await submitMany(spec, 1);
    await startsBy(clock, T0, 1);
    // Quiet: the bucket fills up again (5 tokens, 100 ms each).
    const quietEnd = T0 + 60_000;
    await clock.advanceToAsync(quietEnd);
    const rest = await submitMany(spec, 12);
    await startsBy(clock, quietEnd, 6);
    for (let step = 1; step <= 4; step++) await startsBy(clock, quietEnd + step * 100, 6 + step);
    const times = await assignTimes([...first, ...rest]);
    expect(times).toEqual([
      T0,
      ...Array.from({ length: 5 }, () => quietEnd),
      ...[1, 2, 3, 4].map((step) => quietEnd + step * 100),
    ]);
  });

  it("a restart mid-stream gives no extra burst: the bucket is read back from the store", {
    timeout: 180_000,
  }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const tasks = await submitMany(limited([{ key: "steady", perSecond: 20, burst: 10 }]), 300);
    // 10 at once, then one per 50 ms.
    for (let elapsed = 0; elapsed <= 5_000; elapsed += 50) await startsBy(clock, T0 + elapsed, 10 + elapsed / 50);
    // The server comes back on another port: a new runner connects to it.
    await runner!.stop();
    await server!.restart();
    client!.close();
    client = new SupervisorClient({ address: server!.address });
    runner = new Runner({ address: server!.address, name: "rate-runner-2", capacity: 500, kinds: ["embedded:count"] });
    runner.handle("count", () => {
      started++;
    });
    await runner.start();
    for (let elapsed = 5_050; elapsed <= 10_000; elapsed += 50) {
      await startsBy(clock, T0 + elapsed, 10 + elapsed / 50);
    }
    const times = await assignTimes(tasks);
    // A bucket forgotten by the restart would have let 10 go at once again.
    expect(times.filter((ms) => ms === T0 + 5_000)).toHaveLength(1);
    expect(times.filter((ms) => ms === T0 + 5_050)).toHaveLength(1);
    expect(times.length).toBe(210);
  });

  it("the server's rate for a key wins over the task's, and is taken when the task names none", {
    timeout: 120_000,
  }, async () => {
    const clock = new FakeClock(T0);
    await start(clock, { rateLimits: JSON.stringify({ "server-rate": { perSecond: 2, burst: 1 } }) });
    const asksMore = await submitMany(limited([{ key: "server-rate", perSecond: 1000, burst: 100 }]), 3);
    const namesNone = await submitMany(limited([{ key: "server-rate" }]), 2);
    for (let step = 0; step < 5; step++) await startsBy(clock, T0 + step * 500, step + 1);
    const times = await assignTimes([...asksMore, ...namesNone]);
    expect(times).toEqual([0, 500, 1000, 1500, 2000].map((ms) => T0 + ms));
  });

  it("a task with several keys starts only when each has a token", { timeout: 120_000 }, async () => {
    const clock = new FakeClock(T0);
    await start(clock);
    const both = limited([
      { key: "fast", perSecond: 100, burst: 1 },
      { key: "slow", perSecond: 1, burst: 1 },
    ]);
    const tasks = await submitMany(both, 3);
    for (let step = 0; step < 3; step++) await startsBy(clock, T0 + step * 1_000, step + 1);
    expect(await assignTimes(tasks)).toEqual([T0, T0 + 1_000, T0 + 2_000]);
  });
});

describe("rate limits: bad input", () => {
  const refused = async (rateLimits: unknown, labels: Record<string, string> = {}) => {
    const error = await expectError(
      client!.submit(subprocess("true", [], { labels, rateLimits: rateLimits as never })),
      status.INVALID_ARGUMENT,
      ErrorReason.INVALID_REQUEST,
    );
    return (error as SupervisorError).fieldViolations.map((violation) => violation.field);
  };
  const startServer = async () => {
    server = await startTestServer({ rateLimits: JSON.stringify({ "has-server-rate": { perMinute: 60 } }) });
    client = new SupervisorClient({ address: server.address });
  };

  it("a templated key naming a label the task lacks, or a key that is no key after templating", async () => {
    await startServer();
    expect(await refused([{ key: "tenant-{labels.tenant}", perSecond: 1 }])).toEqual(["spec.rate_limits[0].key"]);
    expect(await refused([{ key: "a b", perSecond: 1 }])).toEqual(["spec.rate_limits[0].key"]);
    expect(await refused([{ key: "x".repeat(254), perSecond: 1 }])).toEqual(["spec.rate_limits[0].key"]);
    expect(await refused([{ key: "", perSecond: 1 }])).toEqual(["spec.rate_limits[0].key"]);
  });

  it("a key named twice (after templating)", async () => {
    await startServer();
    const twice = [
      { key: "k-{labels.t}", perSecond: 1 },
      { key: "k-x", perMinute: 5 },
    ];
    expect(await refused(twice, { t: "x" })).toEqual(["spec.rate_limits[1].key"]);
  });

  it("both units, a rate out of range, or neither with no server rate for the key", async () => {
    await startServer();
    expect(await refused([{ key: "k", perSecond: 1, perMinute: 60 }])).toEqual(["spec.rate_limits[0].per_minute"]);
    expect(await refused([{ key: "k", perSecond: -1 }])).toEqual(["spec.rate_limits[0].per_second"]);
    expect(await refused([{ key: "k", perSecond: 100_001 }])).toEqual(["spec.rate_limits[0].per_second"]);
    expect(await refused([{ key: "k", perSecond: Number.NaN }])).toEqual(["spec.rate_limits[0].per_second"]);
    expect(await refused([{ key: "k", perMinute: 6_000_001 }])).toEqual(["spec.rate_limits[0].per_minute"]);
    expect(await refused([{ key: "no-server-rate" }])).toEqual(["spec.rate_limits[0].per_second"]);
    // The same with a server rate is fine.
    const task = await client!.submit(subprocess("true", [], { rateLimits: [{ key: "has-server-rate" }] }));
    expect(task.spec!.rateLimits).toEqual([{ key: "has-server-rate", perSecond: 0, perMinute: 0, burst: 0 }]);
  });

  it("a burst out of range", async () => {
    await startServer();
    expect(await refused([{ key: "k", perSecond: 1, burst: -1 }])).toEqual(["spec.rate_limits[0].burst"]);
    expect(await refused([{ key: "k", perSecond: 1, burst: 100_001 }])).toEqual(["spec.rate_limits[0].burst"]);
  });

  it("more than 8 rate limits", async () => {
    await startServer();
    const limits = Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, perSecond: 1 }));
    expect(await refused(limits)).toEqual(["spec.rate_limits"]);
  });

  it("the key is stored templated", async () => {
    await startServer();
    const task = await client!.submit(
      subprocess("true", [], {
        labels: { tenant: "acme" },
        rateLimits: [{ key: "api-{labels.tenant}", perSecond: 5, burst: 2 }],
      }),
    );
    expect(task.spec!.rateLimits).toEqual([{ key: "api-acme", perSecond: 5, perMinute: 0, burst: 2 }]);
  });
});

describe("rate limits: the server's config (rateLimits)", () => {
  it("comes from the config file, SUPERVISOR_RATE_LIMITS or --rate-limits (later winning)", () => {
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ rateLimits: { vendor: { perSecond: 10, burst: 20 } } }));
    expect(loadConfig({ file }).rateLimits).toEqual({ vendor: { perSecond: 10, burst: 20 } });
    const env = { SUPERVISOR_RATE_LIMITS: '{"vendor": {"perMinute": 30}}' };
    expect(loadConfig({ file, env }).rateLimits).toEqual({ vendor: { perMinute: 30 } });
    const flags = { rateLimits: '{"other": {"perSecond": 0.5}}' };
    expect(loadConfig({ file, env, flags }).rateLimits).toEqual({ other: { perSecond: 0.5 } });
    expect(loadConfig({}).rateLimits).toEqual({});
  });

  it.each([
    ['{"k": {"perSecond": 1, "perMinute": 60}}', "give exactly one of perSecond and perMinute"],
    ['{"k": {"burst": 5}}', "give exactly one of perSecond and perMinute"],
    ['{"k": {"perSecond": 0}}', "--rate-limits"],
    ['{"k": {"perSecond": 100001}}', "--rate-limits"],
    ['{"k": {"perSecond": 1, "burst": 0}}', "--rate-limits"],
    ['{"k": {"perSecond": 1, "rate": 2}}', 'rate-limits: Unrecognized key: "rate"'],
    ['{"a b": {"perSecond": 1}}', 'rate-limits: "a b" is not a rate-limit key'],
    ["not json", "expected JSON"],
  ])("refuses %s, naming the flag", (text, words) => {
    expect(() => loadConfig({ flags: { rateLimits: text } })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { rateLimits: text } })).toThrow(words);
  });
});
