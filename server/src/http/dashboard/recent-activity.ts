import { EventType, type Task, TaskPhase, TERMINAL_PHASES } from "@supervisor/sdk";
import type { Clock } from "../../core/clock.js";
import { phaseWord } from "../../core/enum-words.js";
import type { TaskChange } from "../../store/backend.js";

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;
/** Latency histogram bounds, ms: fine below a second, coarse up to a day. Percentiles read the bucket's bound. */
const LATENCY_BOUNDS_MS = [
  5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 86_400_000,
];
const TERMINAL: ReadonlySet<TaskPhase> = new Set(TERMINAL_PHASES);

interface MinuteBucket {
  minute: number;
  submitted: number;
  ended: Map<string, number>;
  startLatency: number[];
  endLatency: number[];
}

const newHistogram = () => new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
const bucketOf = (ms: number) => {
  const index = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return index < 0 ? LATENCY_BOUNDS_MS.length : index;
};

function percentile(histogram: number[], q: number): number | undefined {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= q * total) return LATENCY_BOUNDS_MS[i] ?? LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
  }
  return undefined;
}

/** The overview's last hour, as JSON for the dashboard. */
export interface ActivitySummary {
  since: string;
  submittedLastHour: number;
  endedLastHour: Record<string, number>;
  /** Tasks ended in each of the last 60 minutes, oldest first (the current minute last). */
  endedPerMinute: number[];
  /** Upper bounds of the histogram bucket holding each percentile, ms. */
  startLatencyMs: { p50?: number; p95?: number };
  endLatencyMs: { p50?: number; p95?: number };
}

/**
 * What the dashboard's overview shows of the last hour, counted from the committed task changes as they
 * are published (StorageBackend.onCommit: this server's, and when shared every server's): submits, ends by
 * phase, and latency histograms (create → first start, create → end), in one bucket per minute, 60 kept.
 * Nothing reads the tasks table, so it costs the same with 1M tasks; it starts empty when the server
 * starts (a figure of "since" then).
 */
export class RecentActivity {
  private readonly buckets: MinuteBucket[] = [];
  private readonly sinceMs: number;

  constructor(private readonly clock: Clock) {
    this.sinceMs = clock.now();
  }

  record(changes: readonly TaskChange[]): void {
    for (const change of changes) {
      if (change.type === EventType.EVENT_TYPE_ADDED) this.current().submitted++;
      else if (change.type === EventType.EVENT_TYPE_MODIFIED && this.justEnded(change)) this.ended(change.task);
    }
  }

  private justEnded(change: TaskChange): boolean {
    const phase = change.task.status?.phase ?? TaskPhase.TASK_PHASE_UNSPECIFIED;
    if (!TERMINAL.has(phase)) return false;
    return change.previous === undefined || !TERMINAL.has(change.previous.phase);
  }

  private ended(task: Task): void {
    const bucket = this.current();
    const phase = phaseWord(task.status!.phase);
    bucket.ended.set(phase, (bucket.ended.get(phase) ?? 0) + 1);
    const created = task.createTime?.getTime();
    if (created === undefined) return;
    const started = task.status?.startTime?.getTime();
    const finished = task.status?.finishTime?.getTime() ?? this.clock.now();
    if (started !== undefined) bucket.startLatency[bucketOf(Math.max(0, started - created))]!++;
    bucket.endLatency[bucketOf(Math.max(0, finished - created))]!++;
  }

  private current(): MinuteBucket {
    const minute = Math.floor(this.clock.now() / MINUTE_MS);
    const last = this.buckets[this.buckets.length - 1];
    if (last?.minute === minute) return last;
    const bucket = { minute, submitted: 0, ended: new Map(), startLatency: newHistogram(), endLatency: newHistogram() };
    this.buckets.push(bucket);
    while (this.buckets.length > 0 && this.buckets[0]!.minute <= minute - WINDOW_MINUTES) this.buckets.shift();
    return bucket;
  }

  summary(): ActivitySummary {
    const now = Math.floor(this.clock.now() / MINUTE_MS);
    const recent = this.buckets.filter((b) => b.minute > now - WINDOW_MINUTES);
    const endedLastHour: Record<string, number> = {};
    const start = newHistogram();
    const end = newHistogram();
    for (const bucket of recent) {
      for (const [phase, n] of bucket.ended) endedLastHour[phase] = (endedLastHour[phase] ?? 0) + n;
      for (let i = 0; i < start.length; i++) {
        start[i]! += bucket.startLatency[i]!;
        end[i]! += bucket.endLatency[i]!;
      }
    }
    const endedPerMinute = Array.from({ length: WINDOW_MINUTES }, (_, i) => {
      const bucket = recent.find((b) => b.minute === now - WINDOW_MINUTES + 1 + i);
      return bucket ? [...bucket.ended.values()].reduce((a, b) => a + b, 0) : 0;
    });
    return {
      since: new Date(this.sinceMs).toISOString(),
      submittedLastHour: recent.reduce((a, b) => a + b.submitted, 0),
      endedLastHour,
      endedPerMinute,
      startLatencyMs: { p50: percentile(start, 0.5), p95: percentile(start, 0.95) },
      endLatencyMs: { p50: percentile(end, 0.5), p95: percentile(end, 0.95) },
    };
  }
}
