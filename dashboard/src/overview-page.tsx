// The overview: tasks pending and running now, and what ended in the last hour — by phase, throughput
// per minute and latency — from GET /dashboard/overview (the server's memory: nothing scans tasks).
import type { Json } from "./api";
import { ErrorBanner, PhaseBadge, Section } from "./common";
import { durationMs } from "./format";
import { useRefreshing } from "./use-refreshing";

function Sparkline({ values }: { values: number[] }) {
  const max = Math.max(1, ...values);
  return (
    <div class="sparkline" title="tasks ended per minute, the last hour">
      {values.map((v) => (
        <span class={`bar h${Math.round((v / max) * 10)}`} title={`${v}`} />
      ))}
    </div>
  );
}

export function OverviewPage() {
  const { data, error } = useRefreshing("/dashboard/overview", 5000);
  const overview: Json = data ?? {};
  const ended: Record<string, number> = overview.endedLastHour ?? {};
  const perMinute: number[] = overview.endedPerMinute ?? [];
  const total = Object.values(ended).reduce((a, b) => a + b, 0);
  return (
    <div class="page">
      <div class="toolbar">
        <h1>Overview</h1>
        {overview.leading === false ? (
          <span class="muted">this server does not lead: pending and running are the leader's to count</span>
        ) : null}
      </div>
      <ErrorBanner error={error} what="Could not read the overview" />
      <div class="tiles" data-overview>
        <a class="tile" href="/tasks?phase=PENDING">
          <PhaseBadge phase="PENDING" />
          <strong data-count="PENDING">{overview.pending ?? "…"}</strong>
        </a>
        <a class="tile" href="/tasks?phase=RUNNING">
          <PhaseBadge phase="RUNNING" />
          <strong data-count="RUNNING">{overview.running ?? "…"}</strong>
        </a>
        {["SUCCEEDED", "FAILED", "TIMEOUT", "CANCELED", "EXHAUSTED"].map((phase) => (
          <a class="tile" href={`/tasks?phase=${phase}`}>
            <PhaseBadge phase={phase} />
            <strong data-count={phase}>{ended[phase] ?? 0}</strong>
            <span class="muted">last hour</span>
          </a>
        ))}
      </div>
      <div class="grid">
        <Section title="Throughput, last hour">
          <p>
            <strong>{total}</strong> ended, <strong>{overview.submittedLastHour ?? 0}</strong> submitted
          </p>
          <Sparkline values={perMinute} />
        </Section>
        <Section title="Latency of tasks ended in the last hour">
          <dl class="fields">
            <dt>submit → start, p50</dt>
            <dd>≤ {durationMs(overview.startLatencyMs?.p50)}</dd>
            <dt>submit → start, p95</dt>
            <dd>≤ {durationMs(overview.startLatencyMs?.p95)}</dd>
            <dt>submit → end, p50</dt>
            <dd>≤ {durationMs(overview.endLatencyMs?.p50)}</dd>
            <dt>submit → end, p95</dt>
            <dd>≤ {durationMs(overview.endLatencyMs?.p95)}</dd>
          </dl>
          <p class="muted">As seen by this server since it started ({overview.since ?? "…"}).</p>
        </Section>
      </div>
    </div>
  );
}
