import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Seconds buckets for latencies inside the server (commits, dispatch): 0.5 ms to 10 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds buckets for waits and runs, which last from milliseconds to hours. */
const LONG_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export const RUNNER_STATES = ["connected", "draining", "disconnected"] as const;
/** What may hold a pending task back at dispatch (supervisor_dispatch_holds_total's kinds). */
export const HOLD_KINDS = ["concurrency_key", "rate_limit", "retry_after", "dispatch_pause"] as const;

export interface RunnerFigures {
  name: string;
  running: number;
  capacity: number;
  /** disconnected: awaited within its lease (its runs kept for it). */
  state: (typeof RUNNER_STATES)[number];
}

/** What the gauges read on a scrape: sizes the engine keeps anyway (no per-task work). */
export interface MetricSources {
  leading(): boolean;
  /** Pending tasks in the leader's dispatch index, by their stored reason. */
  pendingByReason(): ReadonlyMap<string, number>;
  /** Runs the leader tracks from assign to end. */
  running(): number;
  /** This server's runner connections. */
  runners(): Iterable<RunnerFigures>;
}

/**
 * Every metric of one server, in a registry of its own (never prom-client's global one), so
 * servers started in one process — tests, a cluster of three — each export only their own.
 * Names follow the Prometheus conventions (docs/metrics.md lists each with its meaning).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;

  readonly tasksSubmitted = new Counter({
    name: "supervisor_tasks_submitted_total",
    help: "Tasks stored by this server's commits (submits, schedule fires, fan-out children, reruns), by trigger.",
    labelNames: ["trigger"] as const,
    registers: [this.registry],
  });
  readonly tasksFinished = new Counter({
    name: "supervisor_tasks_finished_total",
    help: "Tasks this server's commits moved to a terminal phase, by phase and trigger.",
    labelNames: ["phase", "trigger"] as const,
    registers: [this.registry],
  });
  readonly scheduleToStart = new Histogram({
    name: "supervisor_schedule_to_start_seconds",
    help: "From the time an attempt could start (submit, not_before, end of backoff) to its assign commit.",
    labelNames: ["pool"] as const,
    buckets: LONG_BUCKETS,
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: "supervisor_run_duration_seconds",
    help: "Ended runs, from their start (or assign, if they never reported one) to their end.",
    labelNames: ["pool"] as const,
    buckets: LONG_BUCKETS,
    registers: [this.registry],
  });
  readonly dispatchLatency = new Histogram({
    name: "supervisor_dispatch_latency_seconds",
    help: "First attempts: from the submit's commit to the assign sent to the runner.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly leaseExpiries = new Counter({
    name: "supervisor_runner_lease_expiries_total",
    help: "Runners this server declared gone: silent or disconnected past their lease.",
    registers: [this.registry],
  });
  readonly runsLost = new Counter({
    name: "supervisor_runs_lost_total",
    help: "Runs this server's commits ended LOST (their runner gone).",
    registers: [this.registry],
  });
  readonly outputStored = new Counter({
    name: "supervisor_output_stored_bytes_total",
    help: "Bytes of run output written to the store.",
    registers: [this.registry],
  });
  readonly outputDropped = new Counter({
    name: "supervisor_output_dropped_bytes_total",
    help: "Bytes of run output the per-run cap discarded (never written, or deleted from the middle).",
    registers: [this.registry],
  });
  readonly watchStreams = new Gauge({
    name: "supervisor_watch_streams",
    help: "Open WatchTasks streams on this server.",
    registers: [this.registry],
  });
  readonly watchEvents = new Counter({
    name: "supervisor_watch_events_sent_total",
    help: "WatchTasks events (ADDED, MODIFIED, DELETED, BOOKMARK) sent by this server.",
    registers: [this.registry],
  });
  readonly commitLatency = new Histogram({
    name: "supervisor_store_commit_seconds",
    help: "Group commits: one store transaction (read, decide, write, commit) per batch.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly commitBatchSize = new Histogram({
    name: "supervisor_store_commit_batch_size",
    help: "Write requests that shared one group commit.",
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly commitErrors = new Counter({
    name: "supervisor_store_commit_errors_total",
    help: "Group commits that failed (every request of the batch failed with it).",
    registers: [this.registry],
  });
  readonly dispatchHolds = new Counter({
    name: "supervisor_dispatch_holds_total",
    help:
      "Pending tasks the leader's dispatch held back, by what held them: concurrency_key (at its limit), " +
      "rate_limit (no token), retry_after (a key paused by a run's retry-after), dispatch_pause.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly scheduleFires = new Counter({
    name: "supervisor_schedule_fires_total",
    help: "Schedule ticks this server fired as a task (as the leader).",
    registers: [this.registry],
  });
  readonly scheduleMisses = new Counter({
    name: "supervisor_schedule_misses_total",
    help: "Schedule ticks not fired: missed past the catch-up window, or skipped by the overlap policy.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  constructor() {
    const metrics = this;
    // Every kind from the start, at 0: a rate over a series that appears late misses its first holds.
    for (const kind of HOLD_KINDS) this.dispatchHolds.inc({ kind }, 0);
    new Gauge({
      name: "supervisor_leader",
      help: "1 while this server leads (dispatches, schedules, exports the global gauges), else 0.",
      registers: [this.registry],
      collect() {
        this.set(metrics.sources?.leading() ? 1 : 0);
      },
    });
    new Gauge({
      name: "supervisor_tasks_pending",
      help: "Pending tasks waiting for dispatch, by reason (exported by the leader only).",
      labelNames: ["reason"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!metrics.sources?.leading()) return;
        for (const [reason, count] of metrics.sources.pendingByReason()) this.set({ reason }, count);
      },
    });
    new Gauge({
      name: "supervisor_tasks_running",
      help: "Tasks with an attempt assigned or running (exported by the leader only).",
      registers: [this.registry],
      collect() {
        this.reset();
        if (metrics.sources?.leading()) this.set(metrics.sources.running());
      },
    });
    const perRunner = (name: string, help: string, value: (r: { running: number; capacity: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["runner"] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const runner of metrics.sources?.runners() ?? []) this.set({ runner: runner.name }, value(runner));
        },
      });
    perRunner("supervisor_runner_slots_used", "Runs on each runner connected to this server.", (r) => r.running);
    perRunner("supervisor_runner_slots_available", "Free capacity of each runner connected to this server.", (r) =>
      Math.max(0, r.capacity - r.running),
    );
    new Gauge({
      name: "supervisor_runners",
      help: "Runners held by this server, by state (connected, draining, disconnected within their lease).",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect() {
        const counts = new Map<string, number>(RUNNER_STATES.map((state) => [state, 0]));
        for (const runner of metrics.sources?.runners() ?? []) counts.set(runner.state, counts.get(runner.state)! + 1);
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });
  }

  /** Where the gauges read from (the engine, once it exists). */
  bind(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The exposition text of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
