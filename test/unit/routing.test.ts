import { describe, expect, it } from "vitest";
import { chooseRunner, qualifies, type RunnerCandidate, type TaskRequirements } from "../../server/src/core/routing.js";
import { parseLabelSelector } from "../../server/src/core/selector.js";

const runner = (name: string, overrides: Partial<RunnerCandidate> = {}): RunnerCandidate => ({
  id: `id-${name}`,
  name,
  labels: {},
  kinds: ["subprocess"],
  capacity: 4,
  running: 0,
  acceptsWork: true,
  ...overrides,
});
const task = (selector = "", kind = "subprocess"): TaskRequirements => ({
  selector: parseLabelSelector(selector),
  kind,
});
const chosen = (runners: RunnerCandidate[], requirements = task()) => chooseRunner(runners, requirements)?.name;

describe("qualifies", () => {
  it("takes a runner with room that lists the kind and matches the selector", () => {
    expect(qualifies(runner("a", { labels: { gpu: "yes", zone: "eu" } }), task("gpu,zone in (eu,us)"))).toBe(true);
  });

  it("refuses a runner whose labels do not match", () => {
    expect(qualifies(runner("a", { labels: { zone: "ap" } }), task("zone in (eu,us)"))).toBe(false);
    expect(qualifies(runner("a", { labels: { spot: "" } }), task("!spot"))).toBe(false);
  });

  it("refuses a full runner, and a runner draining or disconnected (acceptsWork false)", () => {
    expect(qualifies(runner("a", { capacity: 2, running: 2 }), task())).toBe(false);
    expect(qualifies(runner("a", { capacity: 2, running: 1 }), task())).toBe(true);
    expect(qualifies(runner("a", { acceptsWork: false }), task())).toBe(false);
  });

  it.each([
    [["subprocess"], "subprocess", true],
    [["subprocess"], "wasm", false],
    [["embedded:resize"], "embedded:resize", true],
    [["embedded:resize"], "embedded:crop", false],
    [["embedded:*"], "embedded:crop", true],
    [["embedded:*"], "subprocess", false],
    [["embedded:*"], "wasm", false],
    [["wasm", "embedded:*"], "wasm", true],
  ])("kinds %j run a %s task: %s", (kinds, kind, expected) => {
    expect(qualifies(runner("a", { kinds }), task("", kind))).toBe(expected);
  });
});

describe("chooseRunner", () => {
  it("picks the least loaded by share of capacity, not by count of runs", () => {
    // 2 of 8 (25 %) is less loaded than 1 of 2 (50 %).
    expect(chosen([runner("small", { capacity: 2, running: 1 }), runner("big", { capacity: 8, running: 2 })])).toBe(
      "big",
    );
  });

  it("on equal shares picks the one running fewer, then the first by name", () => {
    expect(chosen([runner("b", { capacity: 4, running: 2 }), runner("a", { capacity: 2, running: 1 })])).toBe("a");
    expect(chosen([runner("a", { capacity: 8, running: 4 }), runner("b", { capacity: 2, running: 1 })])).toBe("b");
    expect(chosen([runner("c"), runner("a"), runner("b")])).toBe("a");
    expect(chosen([runner("b"), runner("a", { capacity: 1 })])).toBe("a");
  });

  it("skips runners that do not qualify, however idle", () => {
    const busy = runner("busy", { running: 3, labels: { pool: "x" } });
    expect(
      chosen(
        [runner("draining", { acceptsWork: false }), runner("other", { labels: { pool: "y" } }), busy],
        task("pool=x"),
      ),
    ).toBe("busy");
  });

  it("is undefined when nobody qualifies or there is nobody", () => {
    expect(
      chosen([runner("full", { capacity: 1, running: 1 }), runner("gone", { acceptsWork: false })]),
    ).toBeUndefined();
    expect(chosen([])).toBeUndefined();
  });

  it("does not depend on the order runners are listed in", () => {
    const runners = [
      runner("d", { capacity: 4, running: 1 }),
      runner("b", { capacity: 8, running: 2 }),
      runner("c", { capacity: 4, running: 1 }),
      runner("a", { capacity: 2, running: 1 }),
    ];
    for (let shift = 0; shift < runners.length; shift++) {
      const order = [...runners.slice(shift), ...runners.slice(0, shift)];
      expect(chosen(order)).toBe("c");
      expect(chosen([...order].reverse())).toBe("c");
    }
  });
});
