// Medians over rounds, the Supervisor ÷ peer ratios, and the markdown table printed at the end.

export const ROW_LABELS = {
  single: "single enqueue, 64 in flight",
  batch: "batch enqueue, 100 per call",
  e2e: "end to end, 4 workers × 16",
  latency: "pickup latency at idle p50 / p99",
};

export function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** 20 000 → "20 000" (a space between thousands, as in BENCHMARKS.md); small numbers keep 2–3 digits. */
export function fmt(value) {
  if (!Number.isFinite(value)) return "n/a";
  if (value !== 0 && Math.abs(value) < 0.1) return value.toPrecision(2);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const [whole, fraction] = value.toFixed(digits).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, " ");
  return fraction ? `${grouped}.${fraction}` : grouped;
}

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? Number((a / b).toPrecision(3)) : NaN);

/**
 * figures[system][scenario][variant] = list of per-round results. Returns the medians per cell:
 * throughput cells {jobsPerSec}, latency cells {p50, p99, n}.
 */
export function medians(figures) {
  const out = {};
  for (const [system, scenarios] of Object.entries(figures)) {
    out[system] = {};
    for (const [scenario, variants] of Object.entries(scenarios)) {
      out[system][scenario] = {};
      for (const [variant, rounds] of Object.entries(variants)) {
        const ok = rounds.filter((r) => !r.error);
        out[system][scenario][variant] =
          scenario === "latency"
            ? {
                p50: median(ok.map((r) => r.p50)),
                p99: median(ok.map((r) => r.p99)),
                samplesPerRound: ok.map((r) => r.n),
                failedRounds: rounds.length - ok.length,
              }
            : {
                jobsPerSec: median(ok.map((r) => r.jobsPerSec)),
                minJobsPerSec: Math.min(...ok.map((r) => r.jobsPerSec)),
                maxJobsPerSec: Math.max(...ok.map((r) => r.jobsPerSec)),
                failedRounds: rounds.length - ok.length,
              };
      }
    }
  }
  return out;
}

/** The comparison table: one row per scenario, one column per system, then Supervisor ÷ best peer and ÷ each. */
export function comparison(systems, scenarios, cells) {
  const supervisor = systems.find((s) => s.id === "supervisor");
  const peers = systems.filter((s) => s.id !== "supervisor");
  const header = [
    "scenario",
    ...systems.map((s) => s.label),
    ...(supervisor && peers.length ? ["Supervisor ÷ best peer", ...peers.map((p) => `÷ ${p.short}`)] : []),
  ];
  const rows = [];
  const ratios = {};
  for (const scenario of scenarios) {
    const main = (system) => cells[system.id]?.[scenario]?.default;
    const cell = (system) => {
      const variants = cells[system.id]?.[scenario] ?? {};
      const text = (v) => {
        if (scenario === "latency") return Number.isFinite(v.p50) ? `${fmt(v.p50)} / ${fmt(v.p99)} ms` : "failed";
        return Number.isFinite(v.jobsPerSec) ? `${fmt(v.jobsPerSec)}/s` : "failed";
      };
      const extra = Object.entries(variants)
        .filter(([key]) => key !== "default")
        .map(([key, v]) => `; ${key}: ${text(v)}`)
        .join("");
      return variants.default ? `${text(variants.default)}${extra}` : "n/a";
    };
    const row = [ROW_LABELS[scenario], ...systems.map(cell)];
    if (supervisor && peers.length) {
      const s = main(supervisor);
      if (scenario === "latency") {
        const each = peers.map((p) => [ratio(s?.p50, main(p)?.p50), ratio(s?.p99, main(p)?.p99)]);
        const best = [
          ratio(s?.p50, Math.min(...peers.map((p) => main(p)?.p50 ?? Infinity))),
          ratio(s?.p99, Math.min(...peers.map((p) => main(p)?.p99 ?? Infinity))),
        ];
        ratios[scenario] = { bestPeer: best, ...Object.fromEntries(peers.map((p, k) => [p.id, each[k]])) };
        row.push(`${fmt(best[0])} / ${fmt(best[1])}`, ...each.map(([a, b]) => `${fmt(a)} / ${fmt(b)}`));
      } else {
        const each = peers.map((p) => ratio(s?.jobsPerSec, main(p)?.jobsPerSec));
        const best = ratio(s?.jobsPerSec, Math.max(...peers.map((p) => main(p)?.jobsPerSec ?? -Infinity)));
        ratios[scenario] = { bestPeer: best, ...Object.fromEntries(peers.map((p, k) => [p.id, each[k]])) };
        row.push(fmt(best), ...each.map(fmt));
      }
    }
    rows.push(row);
  }
  const markdown = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  return { header, rows, ratios, markdown };
}
