import { readFileSync } from "node:fs";
import {
  type ChannelOptions,
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  DispatchServiceService,
  ScheduleServiceService,
  SYSTEM_TIMERS,
  type TaskSpec,
  type Timers,
} from "@supervisor/sdk";
import { Authenticator } from "./auth.js";
import { startLeadership } from "./cluster/start-leadership.js";
import { type Config, DEFAULT_METRICS_LISTEN } from "./config.js";
import { type Clock, systemClock } from "./core/clock.js";
import { concurrencyLimitsOf } from "./core/concurrency.js";
import { IdGenerator } from "./core/ids.js";
import { rateLimitsOf } from "./core/rate-limit.js";
import type { Logger } from "./errors.js";
import { ExecutionEngine } from "./execution/engine.js";
import { PauseFollower } from "./execution/pause-follower.js";
import { addHealth } from "./health.js";
import { RecentActivity } from "./http/dashboard/recent-activity.js";
import { ServedMethods } from "./http/served-methods.js";
import { type HttpEndpoint, startHttpApi } from "./http/start-http-api.js";
import { commitObserver } from "./metrics/count-writes.js";
import { grpcMetricsInterceptor, rpcMeter } from "./metrics/grpc-metrics.js";
import { type MetricsEndpoint, startMetricsEndpoint } from "./metrics/metrics-endpoint.js";
import { ServerMetrics } from "./metrics/server-metrics.js";
import { DispatchPauses } from "./pauses/dispatch-pauses.js";
import { addReflection } from "./reflection.js";
import { TaskFirer } from "./schedule/fire-tasks.js";
import { Scheduler, schedulerSettings } from "./schedule/scheduler.js";
import { Schedules } from "./schedule/schedules.js";
import { dispatchServiceHandlers } from "./services/dispatch-service.js";
import { type GuardSettings, guarded } from "./services/guard.js";
import { runnerServiceHandlers } from "./services/runner-service.js";
import { RUNNER_SERVICE_DEFINITION } from "./services/runner-service-definition.js";
import { withSafeDecoding } from "./services/safe-decode.js";
import { scheduleServiceHandlers } from "./services/schedule-service.js";
import { taskServiceHandlers } from "./services/task-service.js";
import { TASK_SERVICE_DEFINITION } from "./services/task-service-definition.js";
import { withUnimplemented } from "./services/unimplemented.js";
import { fanOutTargets } from "./store/fan-out-targets.js";
import { GroupCommit } from "./store/group-commit.js";
import { openBackend, shareable } from "./store/open-backend.js";
import { startSweeper, sweep } from "./store/retention.js";
import { RowCache } from "./store/row-cache.js";
import { SignaturePolicy } from "./validation/signature-policy.js";
import { BookmarkTicker } from "./watch/bookmark-ticker.js";

/**
 * Transport limits, set on purpose rather than inherited: bounded messages,
 * bounded concurrent streams per connection, keepalive so dead peers are
 * noticed. Idle connections are reaped after `connectionIdleTimeout`
 * (serverChannelOptions).
 */
export const SERVER_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.max_receive_message_length": 4 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
  "grpc.max_concurrent_streams": 1000,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
};

/** grpc-js treats this idle time (and above) as "never". */
const NEVER_IDLE_MS = 2 ** 31 - 1;

/**
 * grpc-js counts a connection idle only while it has no open stream, so runner
 * Connect streams, watches and followed output keep theirs however quiet they are.
 */
export function serverChannelOptions(config: Config): ChannelOptions {
  const idleMs = config.connectionIdleTimeoutMs === 0 ? NEVER_IDLE_MS : config.connectionIdleTimeoutMs;
  return { ...SERVER_CHANNEL_OPTIONS, "grpc.max_connection_idle_ms": idleMs };
}

export interface RunningServer {
  /** host:port actually bound (port 0 resolved). */
  address: string;
  port: number;
  /** host:port of the /metrics endpoint (port 0 resolved); undefined when metrics are off. */
  metricsAddress?: string;
  /** Base URL of the HTTP/JSON API (http://host:port, port 0 resolved); undefined when it is not served. */
  httpUrl?: string;
  /** Stops accepting, lets streams finish up to the grace period, then closes the store. */
  shutdown(): Promise<void>;
}

/** Where time comes from (the wall clock and the system's timers, or a test's fake clock for both); interceptors. */
export interface ServerOptions {
  clock?: Clock;
  timers?: Timers;
  /** grpc-js server interceptors around every call (metrics, tracing; tests count calls with one). */
  interceptors?: ServerInterceptor[];
}

/** Plain TCP, TLS, or mutual TLS (client certificates required), from the config files. */
function serverCredentials(config: Config): ServerCredentials {
  if (!config.tlsCert || !config.tlsKey) return ServerCredentials.createInsecure();
  const keyPair = { cert_chain: readFileSync(config.tlsCert), private_key: readFileSync(config.tlsKey) };
  const clientCa = config.tlsClientCa ? readFileSync(config.tlsClientCa) : null;
  return ServerCredentials.createSsl(clientCa, [keyPair], clientCa !== null);
}

/** Task and run rows kept after they are written (≈ 2 KB each): the tasks in flight of a busy server. */
const ROW_CACHE_ROWS = 8192;

export async function startServer(config: Config, log: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? SYSTEM_TIMERS;
  const shutdownController = new AbortController();
  const credentials = serverCredentials(config); // read the files first: a bad path fails before anything starts
  // The backend takes its lock before it touches the database: one server per SQLite file.
  // On PostgreSQL several servers may share the database (they elect a leader); a SQLite file has one.
  const backend = await openBackend(config, clock, { shared: shareable(config), log });
  let engine: ExecutionEngine;
  let ids: IdGenerator;
  // Alone on its database (the backend holds its lock), this server need not read back the rows it
  // wrote last; when servers share the database, another one may have changed them since.
  const cache = backend.shared ? undefined : new RowCache(ROW_CACHE_ROWS);
  // Metrics off (--metrics-listen off): nothing is counted either, so "off" costs nothing at all.
  const metrics = config.metricsListen ? new ServerMetrics() : undefined;
  let poolOf = (_runnerId: string) => "";
  const observer = metrics && commitObserver(metrics, (runnerId) => poolOf(runnerId));
  const commits = new GroupCommit(backend, clock, config.groupCommitMaxBatch, cache, observer);
  // An election among the servers sharing the database, or (alone on it) this server leading for good.
  const leadership = startLeadership(backend, { log, ttlMs: config.leaderLeaseTtlMs });
  try {
    ids = new IdGenerator(() => clock.now(), await backend.newestTaskId());
    engine = new ExecutionEngine({ backend, commits, ids, clock, timers, log, leadership, metrics }, config);
    const started = engine;
    poolOf = (runnerId) => started.runnerPool(runnerId);
    metrics?.bind(engine.metricSources());
    await engine.start();
  } catch (error) {
    await leadership.stop().catch(() => {});
    await backend.close();
    throw error;
  }

  const auth = new Authenticator(config.tokens);
  const guard: GuardSettings = {
    auth,
    log,
    maxStreamsPerClient: config.maxStreamsPerClient,
    maxRunnersPerClient: config.maxRunnersPerClient,
  };
  log(
    auth.enabled
      ? `authentication on: ${config.tokens.length} token(s)` +
          (config.protectHealthAndReflection ? ", health and reflection included" : "; health and reflection open")
      : "authentication is OFF: listening on loopback with no tokens configured (every caller is an operator)",
  );
  const meter = metrics && rpcMeter(metrics.registry);
  const metricsInterceptors = meter ? [grpcMetricsInterceptor(meter)] : [];
  const interceptors = [...metricsInterceptors, ...(options.interceptors ?? [])];
  const server = new Server({ ...serverChannelOptions(config), interceptors });
  // What the HTTP API calls: each guarded implementation exactly as grpc-js is given it.
  const served = new ServedMethods();
  const addGuarded = (definition: ServiceDefinition, handlers: UntypedServiceImplementation, anyRole = false) => {
    const safe = withSafeDecoding(definition);
    const implementation = guarded(safe, handlers, { ...guard, anyRole });
    server.addService(safe, implementation);
    served.add(safe, implementation);
  };
  const signatures = new SignaturePolicy(config.trustedKeys, config.requireSignatures);
  const submitSettings = { slotQueueLimit: config.slotQueueLimit, idempotencyTtlMs: config.idempotencyTtlMs };
  const concurrencyLimits = concurrencyLimitsOf(config.concurrencyLimits);
  const rateLimits = rateLimitsOf(config.rateLimits);
  const taskHandlers = taskServiceHandlers({
    backend,
    commits,
    ids,
    submit: submitSettings,
    signatures,
    watch: {
      bookmarks: new BookmarkTicker(config.bookmarkIntervalMs, timers),
      maxLagChanges: config.watchMaxLag,
      metrics,
    },
    engine,
    log,
    shutdown: shutdownController.signal,
    concurrencyLimits,
    clock,
    rateLimits,
  });
  addGuarded(TASK_SERVICE_DEFINITION, withUnimplemented(TASK_SERVICE_DEFINITION, taskHandlers, log));
  const fanOutsOf = (spec: TaskSpec) => fanOutTargets(backend, spec);
  // The scheduler fires only while this server leads, through the epoch-fenced writes; a trigger is any server's.
  const scheduler = new Scheduler({
    store: backend.schedules,
    firer: new TaskFirer(
      engine.leaderWrites,
      ids,
      submitSettings,
      signatures,
      fanOutsOf,
      concurrencyLimits,
      rateLimits,
    ),
    clock,
    timers,
    log,
    settings: schedulerSettings(backend.shared),
    metrics,
  });
  const schedules = new Schedules({
    store: backend.schedules,
    clock,
    firer: new TaskFirer(commits, ids, submitSettings, signatures, fanOutsOf, concurrencyLimits, rateLimits),
    changed: () => scheduler.wake(),
    getTask: async (id) => (await backend.getTask(id))?.task,
  });
  engine.whileLeading(scheduler.duty);
  const scheduleHandlers = scheduleServiceHandlers({ schedules, log, shutdown: shutdownController.signal });
  addGuarded(ScheduleServiceService, withUnimplemented(ScheduleServiceService, scheduleHandlers, log));
  // Pauses are stored by any server; the leader reads them (PauseFollower) and holds back what they match.
  const pauseFollower = new PauseFollower(
    backend.dispatchPauses,
    (pauses) => engine.dispatcher.setPauses(pauses),
    timers,
    log,
  );
  engine.whileLeading(pauseFollower.duty);
  const pauses = new DispatchPauses({ store: backend.dispatchPauses, clock, changed: () => pauseFollower.refresh() });
  const dispatchHandlers = dispatchServiceHandlers({ pauses, log, shutdown: shutdownController.signal });
  addGuarded(DispatchServiceService, withUnimplemented(DispatchServiceService, dispatchHandlers, log));
  const runnerHandlers = runnerServiceHandlers({ backend, engine, log, timers, shutdown: shutdownController.signal });
  addGuarded(RUNNER_SERVICE_DEFINITION, withUnimplemented(RUNNER_SERVICE_DEFINITION, runnerHandlers, log));
  // Health and reflection stay open unless configured otherwise; then any valid token will do.
  const infrastructure = config.protectHealthAndReflection
    ? { addService: (d: ServiceDefinition, h: UntypedServiceImplementation) => addGuarded(d, h, true) }
    : server;
  const setHealth = addHealth(infrastructure);
  addReflection(infrastructure);

  let port: number;
  let endpoint: MetricsEndpoint | undefined;
  let http: HttpEndpoint | undefined;
  let stopActivity = () => {};
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(config.listen, credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
    });
    if (config.metricsListen && metrics) {
      endpoint = await startMetricsEndpoint(config.metricsListen, metrics, auth).catch((error: Error) => {
        // The default port is a convenience: a second server on this machine (several servers, a dev
        // server beside another) goes on without metrics rather than not at all; an address asked for is a must.
        if (config.metricsListen !== DEFAULT_METRICS_LISTEN || !/EADDRINUSE/.test(error.message)) throw error;
        log(`${error.message}: metrics are off for this server (give it --metrics-listen host:port to serve them)`);
        return undefined;
      });
    }
    if (config.httpListen) {
      // Bodies bounded like gRPC messages: a request that fits one fits the other.
      const maxBodyBytes = SERVER_CHANNEL_OPTIONS["grpc.max_receive_message_length"] as number;
      // The dashboard's overview counts the last hour from the published changes (no read of the tasks table).
      const activity = new RecentActivity(clock);
      stopActivity = backend.onCommit((changes) => activity.record(changes));
      const overview = { sources: engine.metricSources(), activity };
      http = await startHttpApi(config, served, { auth, maxBodyBytes, log, meter, overview });
    }
  } catch (error) {
    stopActivity();
    await endpoint?.close();
    server.forceShutdown();
    engine.stop();
    await leadership.stop().catch(() => {});
    await backend.close();
    throw error;
  }
  const leaderWrites = engine.leaderWrites;
  engine.whileLeading(() =>
    startSweeper(() => sweep(backend, leaderWrites, clock, config), config.sweepIntervalMs, timers, log),
  );
  const host = config.listen.slice(0, config.listen.lastIndexOf(":"));
  const address = `${host}:${port}`;
  // The servers table shows where each server listens (several servers on one database).
  backend.cluster?.announce(address).catch((error) => log("recording this server's address failed", error));

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      setHealth("NOT_SERVING");
      await engine.stopLeading(); // the sweep in progress finishes
      engine.stop(); // runners hear "drain", then their streams end; their runs stay owned for a lease
      shutdownController.abort(); // ends watch/output streams cleanly (over gRPC and HTTP)
      const httpClosed = http?.close(config.shutdownGracePeriodMs);
      await new Promise<void>((resolve) => {
        // A real timer on purpose: it bounds grpc-js closing real sockets, which takes real time
        // whatever clock the server is given; on a fake clock nobody advances, shutdown would hang.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, config.shutdownGracePeriodMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await httpClosed;
      stopActivity();
      await endpoint?.close();
      await leadership.stop().catch((error) => log("resigning the lead failed (it runs out by itself)", error));
      // Every answered write is already committed; the backend folds in what it can for a quick next start.
      await backend.close().catch((error) => log("closing the store failed (the next start replays its log)", error));
    })());

  return { address, port, metricsAddress: endpoint?.address, httpUrl: http?.url, shutdown };
}
