import {
  formatLabelSelector,
  formatRunnerSelector,
  matchesSelector,
  parseLabelSelector,
  RunnerSelector,
  runnerSelector,
  SelectorOperator,
  SelectorSyntaxError,
  selectorFromRunnerSelector,
} from "@supervisor/sdk";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EXAMPLE_SELECTOR, labelMap, validSelector } from "../helpers/arbitraries.js";

const { SELECTOR_OPERATOR_IN: IN, SELECTOR_OPERATOR_NOT_IN: NOT_IN } = SelectorOperator;
const { SELECTOR_OPERATOR_EXISTS: EXISTS, SELECTOR_OPERATOR_DOES_NOT_EXIST: DOES_NOT_EXIST } = SelectorOperator;

describe("runnerSelector(text)", () => {
  it("puts key=value in matchLabels and the other requirements in matchExpressions, in order", () => {
    expect(runnerSelector("gpu,zone in (a,b),!spot,env=prod,tier!=db,region notin (x,y),arch==arm64")).toEqual({
      matchLabels: { env: "prod", arch: "arm64" },
      matchExpressions: [
        { key: "gpu", operator: EXISTS, values: [] },
        { key: "zone", operator: IN, values: ["a", "b"] },
        { key: "spot", operator: DOES_NOT_EXIST, values: [] },
        { key: "tier", operator: NOT_IN, values: ["db"] },
        { key: "region", operator: NOT_IN, values: ["x", "y"] },
      ],
    });
  });

  it("is a whole ts-proto message: every repeated and map field present", () => {
    expect(runnerSelector("")).toEqual(RunnerSelector.fromPartial({}));
    expect(runnerSelector("gpu")).toEqual(
      RunnerSelector.fromPartial({ matchExpressions: [{ key: "gpu", operator: 3 }] }),
    );
  });

  it("keeps an empty value (env=) and a one-value list (env in (a)) as labels", () => {
    expect(runnerSelector("env=,zone in (a)")).toEqual({ matchLabels: { env: "", zone: "a" }, matchExpressions: [] });
  });

  it("keeps a second value for the same key as an expression, so nothing is lost", () => {
    expect(runnerSelector("a=1,a=2")).toEqual({
      matchLabels: { a: "1" },
      matchExpressions: [{ key: "a", operator: IN, values: ["2"] }],
    });
    expect(matchesSelector(selectorFromRunnerSelector(runnerSelector("a=1,a=2")), { a: "1" })).toBe(false);
  });

  it("takes keys such as constructor as plain labels", () => {
    expect(runnerSelector("constructor=x").matchLabels).toEqual({ constructor: "x" });
  });

  it.each([
    ["zone in (a", /expected "," or "\)", found end of input at position 10/],
    ["gpu,,spot", /expected a label key, found "," at position 4/],
    ["gpu,-x", /bad label key.*at position 4/],
    ["env=prod,", /expected a requirement after "," at position 9/],
  ])("rejects %j with the position of the problem", (text, message) => {
    expect(() => runnerSelector(text)).toThrow(SelectorSyntaxError);
    expect(() => runnerSelector(text)).toThrow(message);
  });
});

describe("formatRunnerSelector", () => {
  it("writes matchLabels first, then the expressions", () => {
    // One-value lists read back as != (formatLabelSelector's form for them).
    expect(formatRunnerSelector(runnerSelector(EXAMPLE_SELECTOR))).toBe(
      "env=prod,tier!=db,gpu,!spot,region in (eu,us),zone!=a",
    );
    expect(formatRunnerSelector(runnerSelector("gpu,zone in (a,b),!spot,env=prod"))).toBe(
      "env=prod,gpu,zone in (a,b),!spot",
    );
  });

  it("takes a selector with parts left out", () => {
    expect(formatRunnerSelector({ matchLabels: { gpu: "true" } })).toBe("gpu=true");
    expect(formatRunnerSelector({ matchExpressions: [{ key: "spot", operator: DOES_NOT_EXIST }] })).toBe("!spot");
    expect(formatRunnerSelector({})).toBe("");
  });

  it("refuses an unknown operator instead of writing a selector that matches everything", () => {
    expect(() => formatRunnerSelector({ matchExpressions: [{ key: "k", operator: 0 }] })).toThrow(SelectorSyntaxError);
  });

  it("reads back to the same RunnerSelector, and text → RunnerSelector keeps the meaning (property)", () => {
    fc.assert(
      fc.property(validSelector, fc.array(labelMap(6), { minLength: 1, maxLength: 4 }), (text, labelSets) => {
        const structured = runnerSelector(text);
        expect(runnerSelector(formatRunnerSelector(structured))).toEqual(structured);
        expect(parseLabelSelector(formatLabelSelector(parseLabelSelector(text)))).toEqual(parseLabelSelector(text));
        for (const labels of labelSets) {
          expect(matchesSelector(selectorFromRunnerSelector(structured), labels)).toBe(
            matchesSelector(parseLabelSelector(text), labels),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
