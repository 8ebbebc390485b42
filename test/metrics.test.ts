import { rmSync } from "node:fs";
import { createServer } from "node:http";
import { credentials, status as grpcStatus } from "@grpc/grpc-js";
import { type Duration, OverlapPolicy, ScheduleServiceClient, TaskPhase } from "@supervisor/sdk";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { ConfigError, DEFAULT_METRICS_LISTEN, loadConfig } from "../server/src/config.js";
import { startServer } from "../server/src/server.js";
import { storeForTest } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { call, rpc } from "./helpers/grpc.js";
import { fetchMetrics, scrape } from "./helpers/metrics.js";
import { type RunnerProcess, startRunner, waitForTask } from "./helpers/runners.js";
import { startTestServer, type TestServer, tempDir } from "./helpers/server.js";
import { submitRequest, subprocessSpec } from "./helpers/specs.js";
import { waitUntil } from "./helpers/wait.js";

// A real server with its metrics endpoint on a free port; known work, then exact counts from /metrics.

let server: TestServer | undefined;
let runner: RunnerProcess | undefined;
afterEach(async () => {
  await runner?.stop();
  await server?.close();
  server = runner = undefined;
});

const SUBMIT = { grpc_service: "supervisor.v1.TaskService", grpc_method: "SubmitTask" };

describe("metrics", () => {
  it("counts submits, finished runs and their histograms by pool, and pending tasks by reason", async () => {
    server = await startTestServer({ metricsListen: "127.0.0.1:0" });
    const address = server.server.metricsAddress!;
    runner = await startRunner(server.address, "metrics-runner", { labels: { pool: "blue" }, capacity: 2 });
    const submit = (spec = subprocessSpec("true", [])) =>
      call(rpc(server!.tasks, "submitTask"), submitRequest(spec)).then((r) => r.task!);
    const run = await Promise.all([submit(), submit(), submit()]);
    // Two no runner can take: they stay pending.
    const nowhere = subprocessSpec("true", [], {
      runnerSelector: { matchLabels: { pool: "none" }, matchExpressions: [] },
    });
    await Promise.all([submit(nowhere), submit(nowhere)]);
    for (const task of run) {
      expect((await waitForTask(server.tasks, task.id)).status!.phase).toBe(TaskPhase.TASK_PHASE_SUCCEEDED);
    }
    const metrics = await scrape(address);
    expect(metrics.value("supervisor_tasks_submitted_total", { trigger: "API" })).toBe(5);
    expect(metrics.value("supervisor_tasks_finished_total", { phase: "SUCCEEDED", trigger: "API" })).toBe(3);
    expect(metrics.sum("supervisor_tasks_finished_total")).toBe(3);
    expect(metrics.value("supervisor_run_duration_seconds_count", { pool: "blue" })).toBe(3);
    expect(metrics.value("supervisor_schedule_to_start_seconds_count", { pool: "blue" })).toBe(3);
    expect(metrics.value("supervisor_dispatch_latency_seconds_count")).toBe(3);
    expect(metrics.sum("supervisor_tasks_pending")).toBe(2);
    expect(metrics.value("supervisor_tasks_running")).toBe(0);
    expect(metrics.value("supervisor_leader")).toBe(1);
    expect(metrics.value("supervisor_runners", { state: "connected" })).toBe(1);
    expect(metrics.value("supervisor_runner_slots_available", { runner: "metrics-runner" })).toBe(2);
    expect(metrics.value("supervisor_runner_slots_used", { runner: "metrics-runner" })).toBe(0);
    expect(metrics.value("supervisor_store_commit_errors_total")).toBe(0);
    expect(metrics.value("supervisor_store_commit_seconds_count")).toBeGreaterThan(0);
    expect(metrics.value("grpc_server_handled_total", { ...SUBMIT, grpc_code: "OK" })).toBe(5);
    expect(metrics.value("grpc_server_started_total", SUBMIT)).toBe(5);
    expect(metrics.value("grpc_server_handling_seconds_count", SUBMIT)).toBe(5);
  });

  it("counts calls of the HTTP/JSON API as the RPCs they transcode to, refused ones by their code", async () => {
    server = await startTestServer({ metricsListen: "127.0.0.1:0", httpListen: "127.0.0.1:0" });
    const base = server.server.httpUrl!;
    const post = (body: unknown) =>
      fetch(`${base}/v1/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post({ spec: { subprocess: { command: "true" } } })).status).toBe(200);
    expect((await post({ spec: {} })).status).toBe(400);
    const GET = { grpc_service: "supervisor.v1.TaskService", grpc_method: "GetTask" };
    expect((await fetch(`${base}/v1/tasks/01a233d0-4c7c-7000-a687-52525be786cf`)).status).toBe(404);
    const metrics = await scrape(server.server.metricsAddress!);
    expect(metrics.value("grpc_server_started_total", SUBMIT)).toBe(2);
    expect(metrics.value("grpc_server_handled_total", { ...SUBMIT, grpc_code: "OK" })).toBe(1);
    expect(metrics.value("grpc_server_handled_total", { ...SUBMIT, grpc_code: "INVALID_ARGUMENT" })).toBe(1);
    expect(metrics.value("grpc_server_handled_total", { ...GET, grpc_code: "NOT_FOUND" })).toBe(1);
    expect(metrics.value("grpc_server_handling_seconds_count", SUBMIT)).toBe(2);
  });

  it("counts a refused call by its code, and a watch stream while it is open", async () => {
    server = await startTestServer({ metricsListen: "127.0.0.1:0" });
    const address = server.server.metricsAddress!;
    await expect(call(rpc(server.tasks, "submitTask"), { spec: undefined, requestId: "" })).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
    });
    const refused = await scrape(address);
    expect(refused.value("grpc_server_handled_total", { ...SUBMIT, grpc_code: "INVALID_ARGUMENT" })).toBe(1);
    expect(refused.value("grpc_server_handled_total", { ...SUBMIT, grpc_code: "OK" })).toBe(0);

    const stream = server.tasks.watchTasks({ sinceRevision: 0, sendInitial: false, selector: "", phases: [] } as never);
    stream.on("error", () => {}); // cancelled below
    await new Promise((resolve) => stream.once("data", resolve)); // the BOOKMARK: the stream is live
    const open = await scrape(address);
    expect(open.value("supervisor_watch_streams")).toBe(1);
    expect(open.value("supervisor_watch_events_sent_total")).toBe(1);
    stream.cancel();
    const closed = await waitUntil(async () => {
      const now = await scrape(address);
      return now.value("supervisor_watch_streams") === 0 ? now : undefined;
    }, "the watch stream counted closed");
    expect(closed.value("grpc_server_handled_total", { grpc_method: "WatchTasks", grpc_code: "CANCELLED" })).toBe(1);
  });

  it("counts each schedule fire", async () => {
    const T0 = Date.UTC(2030, 0, 1);
    const clock = new FakeClock(T0);
    server = await startTestServer({ metricsListen: "127.0.0.1:0" }, { clock, timers: clock });
    const schedules = new ScheduleServiceClient(server.address, credentials.createInsecure());
    try {
      const second: Duration = { seconds: 1, nanos: 0 };
      await call(rpc(schedules, "createSchedule"), {
        schedule: {
          id: "tick",
          spec: { cron: "", timeZone: "", interval: second },
          task: subprocessSpec("echo", ["tick"]),
          overlap: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
          labels: {},
          note: "",
          paused: false,
          generation: 0,
        },
      } as never);
      const address = server.server.metricsAddress!;
      for (let k = 1; k <= 3; k++) {
        await clock.advanceToAsync(T0 + k * 1000);
        await waitUntil(async () => {
          await clock.advanceAsync(0);
          return (await scrape(address)).value("supervisor_schedule_fires_total") === k;
        }, `fire ${k}`);
      }
      const metrics = await scrape(address);
      expect(metrics.value("supervisor_schedule_fires_total")).toBe(3);
      expect(metrics.value("supervisor_tasks_submitted_total", { trigger: "SCHEDULE" })).toBe(3);
    } finally {
      schedules.close();
    }
  });

  it("asks for a token when authentication is on", async () => {
    const token = "metrics-scraper-token-0123456789";
    const tokens = JSON.stringify([{ name: "prom", role: "readonly", token }]);
    server = await startTestServer({ metricsListen: "127.0.0.1:0", tokens });
    const address = server.server.metricsAddress!;
    expect((await fetchMetrics(address)).status).toBe(401);
    expect((await fetchMetrics(address, "not-the-token-at-all-000000")).status).toBe(401);
    const allowed = await fetchMetrics(address, token);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain("supervisor_leader 1");
  });

  it("serves nothing when off, and a port already taken fails the start with the address", async () => {
    server = await startTestServer({ metricsListen: "off" });
    expect(server.server.metricsAddress).toBeUndefined();
    const taken = await startTestServer({ metricsListen: "127.0.0.1:0" });
    try {
      await expect(startTestServer({ metricsListen: taken.server.metricsAddress! })).rejects.toThrow(
        `cannot serve metrics on ${taken.server.metricsAddress}`,
      );
    } finally {
      await taken.close();
    }
  });

  it("the default port taken (another server on this machine): the server starts without metrics, saying so", async () => {
    const occupier = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      occupier.once("error", () => resolve(false)); // taken already by something else: just as good
      occupier.listen(9464, "127.0.0.1", () => resolve(true));
    });
    onTestFinished(() => new Promise<void>((resolve) => (bound ? occupier.close(() => resolve()) : resolve())));
    const lines: string[] = [];
    const dir = tempDir();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const db = await storeForTest(dir);
    const config = loadConfig({ flags: { listen: "127.0.0.1:0", db, metricsListen: DEFAULT_METRICS_LISTEN } });
    const started = await startServer(config, (line) => lines.push(line));
    onTestFinished(() => started.shutdown());
    expect(started.metricsAddress).toBeUndefined();
    expect(
      lines.some((line) => /cannot serve metrics on 127\.0\.0\.1:9464: .*EADDRINUSE.*metrics are off/.test(line)),
    ).toBe(true);
  });

  it("metricsListen: 127.0.0.1:9464 by default, off or empty disables it, a bad address or an open one without tokens is refused", () => {
    expect(loadConfig({}).metricsListen).toBe("127.0.0.1:9464");
    expect(loadConfig({ flags: { metricsListen: "off" } }).metricsListen).toBeUndefined();
    expect(loadConfig({ flags: { metricsListen: "" } }).metricsListen).toBeUndefined();
    expect(loadConfig({ flags: { metricsListen: "[::1]:0" } }).metricsListen).toBe("[::1]:0");
    expect(() => loadConfig({ flags: { metricsListen: "9464" } })).toThrow('--metrics-listen: host:port, or "off"');
    expect(() => loadConfig({ flags: { metricsListen: "127.0.0.1:70000" } })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { metricsListen: "0.0.0.0:9464" } })).toThrow(
      "refusing to serve metrics on 0.0.0.0:9464 without authentication",
    );
  });
});
