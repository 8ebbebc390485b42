import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The dashboard in docs/ must only ask for metrics docs/metrics.md documents (and so the server exports).

const dashboard = JSON.parse(readFileSync("docs/grafana-dashboard.json", "utf8")) as {
  schemaVersion: number;
  panels: { title: string; targets: { expr: string }[] }[];
};
const documented = new Set(
  [...readFileSync("docs/metrics.md", "utf8").matchAll(/^\| `([a-z_:]+)` \|/gm)].map((m) => m[1]),
);

/** Metric names in a PromQL expression: identifiers before `{`, `[` or `)` that are not functions or labels. */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, "{}").replace(/by \([^)]*\)/g, "");
  return [...withoutLabels.matchAll(/\b((?:supervisor|grpc)_[a-z_]+)\b/g)].map((m) => m[1]!);
}

/** A histogram's series are documented under the histogram's name. */
const family = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

describe("docs/grafana-dashboard.json", () => {
  it("is a dashboard of schema 36 or later whose every expression uses documented metrics", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase());
    for (const topic of ["throughput", "pending", "schedule-to-start", "run duration", "dispatch", "slots", "commit"]) {
      expect(
        titles.some((title) => title.includes(topic)),
        topic,
      ).toBe(true);
    }
    expect(titles.some((title) => title.includes("rpc error rate"))).toBe(true);
    const used = dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => metricNames(target.expr)));
    expect(used.length).toBeGreaterThan(20);
    expect(used.map(family).filter((name) => !documented.has(name))).toEqual([]);
  });
});
