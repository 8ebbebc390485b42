import {
  canonicalSelector,
  type LabelSelector,
  matchesSelector,
  parseLabelSelector,
  SelectorSyntaxError,
  selectorFromRunnerSelector,
} from "@supervisor/sdk";
import { describe, expect, it } from "vitest";

/** The syntax error a selector raises (fails the test if it parses). */
function syntaxErrorOf(text: string): SelectorSyntaxError {
  try {
    parseLabelSelector(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SelectorSyntaxError);
    return error as SelectorSyntaxError;
  }
  throw new Error(`${JSON.stringify(text)} parsed, expected a SelectorSyntaxError`);
}

describe("parseLabelSelector", () => {
  it.each(["", " ", "  \t\n "])("an empty selector %j selects everything", (text) => {
    expect(parseLabelSelector(text)).toEqual([]);
    expect(matchesSelector(parseLabelSelector(text), {})).toBe(true);
    expect(matchesSelector(parseLabelSelector(text), { any: "thing" })).toBe(true);
  });

  it.each<[string, LabelSelector]>([
    ["env=prod", [{ key: "env", operator: "in", values: ["prod"] }]],
    ["env==prod", [{ key: "env", operator: "in", values: ["prod"] }]],
    ["env!=prod", [{ key: "env", operator: "notin", values: ["prod"] }]],
    ["env in (prod)", [{ key: "env", operator: "in", values: ["prod"] }]],
    ["env in (prod,dev)", [{ key: "env", operator: "in", values: ["prod", "dev"] }]],
    ["env notin (prod,dev)", [{ key: "env", operator: "notin", values: ["prod", "dev"] }]],
    ["gpu", [{ key: "gpu", operator: "exists", values: [] }]],
    ["!spot", [{ key: "spot", operator: "!exists", values: [] }]],
    ["env=", [{ key: "env", operator: "in", values: [""] }]],
    ["env!=", [{ key: "env", operator: "notin", values: [""] }]],
    ["example.com/tier=db", [{ key: "example.com/tier", operator: "in", values: ["db"] }]],
    ["in", [{ key: "in", operator: "exists", values: [] }]],
    ["in in (in)", [{ key: "in", operator: "in", values: ["in"] }]],
    ["notin notin (notin)", [{ key: "notin", operator: "notin", values: ["notin"] }]],
    ["v=1.2_3-x", [{ key: "v", operator: "in", values: ["1.2_3-x"] }]],
  ])("parses %j", (text, expected) => {
    expect(parseLabelSelector(text)).toEqual(expected);
  });

  it("parses several requirements in order", () => {
    expect(parseLabelSelector("env=prod,tier!=db,gpu,!spot,region in (eu,us),zone notin (a)")).toEqual([
      { key: "env", operator: "in", values: ["prod"] },
      { key: "tier", operator: "notin", values: ["db"] },
      { key: "gpu", operator: "exists", values: [] },
      { key: "spot", operator: "!exists", values: [] },
      { key: "region", operator: "in", values: ["eu", "us"] },
      { key: "zone", operator: "notin", values: ["a"] },
    ]);
  });

  it("tolerates whitespace around every token", () => {
    const tight = parseLabelSelector("env=prod,tier!=db,gpu,!spot,region in (eu,us),zone notin (a)");
    for (const text of [
      "  env = prod ,  tier != db , gpu , ! spot , region in ( eu , us ) , zone notin ( a )  ",
      "\tenv\t==\tprod\n,tier!=db,gpu,!spot,region in(eu,us),zone notin(a)",
      "env=prod , tier !=db ,gpu\t, !spot,region   in   (eu,us),zone notin (a)",
    ]) {
      expect(parseLabelSelector(text), text).toEqual(tight);
    }
  });

  it("accepts 64 requirements and 1024 characters, no more", () => {
    const requirements = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(",");
    expect(parseLabelSelector(requirements(64))).toHaveLength(64);
    expect(syntaxErrorOf(requirements(65)).message).toMatch(/at most 64 requirements/);

    const padded = (length: number) => `a=b${" ".repeat(length - 3)}`;
    expect(parseLabelSelector(padded(1024))).toHaveLength(1);
    expect(syntaxErrorOf(padded(1025)).message).toMatch(/at most 1024/);
  });

  it.each([
    // unclosed parenthesis
    ["env in (a", /expected "," or "\)", found end of input at position 9/],
    ["env in (a,b", /expected "," or "\)", found end of input at position 11/],
    ["env in (a b)", /expected "," or "\)", found "b" at position 10/],
    // empty value list, empty values in a list
    ["env in ()", /expected a value, found "\)" at position 8/],
    ["env notin ( )", /expected a value, found "\)" at position 12/],
    ["env in (a,)", /expected a value, found "\)" at position 10/],
    ["env in (,a)", /expected a value, found "," at position 8/],
    ["env in (a,,b)", /expected a value, found "," at position 10/],
    // in / notin without parentheses
    ["env in a", /expected "\(", found "a" at position 7/],
    ["env notin a", /expected "\(", found "a" at position 10/],
    ["env in", /expected "\(", found end of input at position 6/],
    // bad keys
    ["=x", /expected a label key, found "=" at position 0/],
    ["-env=x", /bad label key.*at position 0/],
    ["env-=x", /bad label key.*at position 0/],
    ["a=b, Env.=x", /bad label key.*at position 5/],
    ["Example.com/env=x", /bad label key.*prefix.*at position 0/],
    [`${"k".repeat(64)}=x`, /bad label key.*63.*at position 0/],
    ["!", /expected a label key, found end of input at position 1/],
    ["!=x", /expected a label key/],
    ["!-x", /bad label key.*at position 1/],
    ["bad key=1", /expected "=", "==", "!=", "in" or "notin" after key "bad" at position 4/],
    // bad values
    ["env=-x", /bad label value.*at position 4/],
    [`env=${"v".repeat(64)}`, /bad label value.*63.*at position 4/],
    ["env in (a,b-)", /bad label value.*at position 10/],
    ["env=(", /expected "," or end of selector, found "\(" at position 4/],
    // trailing, leading and doubled commas
    ["env=prod,", /expected a requirement after "," at position 9/],
    ["env=prod , ", /expected a requirement after "," at position 11/],
    [",env=prod", /expected a label key, found "," at position 0/],
    ["a,,b", /expected a label key, found "," at position 2/],
    // garbage
    ["env=prod tier=db", /expected "," or end of selector, found "t" at position 9/],
    ["env===prod", /expected "," or end of selector, found "=" at position 5/],
    ["env=a=b", /expected "," or end of selector, found "=" at position 5/],
    ["env!prod", /expected "=", "==", "!=", "in" or "notin" after key "env" at position 3/],
    ["env ! = prod", /expected "=", "==", "!=", "in" or "notin"/],
    ["env>1", /bad label key/],
    ["env in (a))", /expected "," or end of selector, found "\)" at position 10/],
    ["(env)", /expected a label key, found "\(" at position 0/],
    ["!spot=x", /expected "," or end of selector, found "=" at position 5/],
    ["env inn (a)", /after key "env" at position 4/],
    ["@@@", /bad label key/],
  ])("rejects %j", (text, message) => {
    expect(syntaxErrorOf(text).message).toMatch(message);
  });

  it("raises an Error subclass with its own name", () => {
    const error = syntaxErrorOf("env in (a");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("SelectorSyntaxError");
  });
});

describe("matchesSelector", () => {
  const labels = { env: "prod", tier: "web", gpu: "", region: "eu" };
  const matches = (text: string, l: Record<string, string> = labels) => matchesSelector(parseLabelSelector(text), l);

  it.each<[string, boolean]>([
    ["env=prod", true],
    ["env==prod", true],
    ["env=dev", false],
    ["missing=prod", false],
    ["env!=dev", true],
    ["env!=prod", false],
    ["missing!=prod", true], // absent label satisfies !=
    ["env in (dev,prod)", true],
    ["env in (dev,test)", false],
    ["missing in (prod)", false],
    ["env notin (dev,test)", true],
    ["env notin (dev,prod)", false],
    ["missing notin (prod)", true], // absent label satisfies notin
    ["gpu", true], // exists, even with an empty value
    ["missing", false],
    ["!missing", true],
    ["!gpu", false],
    ["gpu=", true],
    ["env=", false],
    ["gpu!=", false],
    ["missing=", false],
    ["env=prod,tier=web,gpu,!spot,region in (eu,us),zone notin (a)", true],
    ["env=prod,tier=db", false], // every requirement must hold
    ["env=prod,!gpu", false],
  ])("%j → %s", (text, expected) => {
    expect(matches(text)).toBe(expected);
  });

  it("does not see inherited properties as labels", () => {
    expect(matches("constructor", {})).toBe(false);
    expect(matches("!toString", {})).toBe(true);
    expect(matches("hasOwnProperty notin (x)", {})).toBe(true);
  });

  it("matches an empty label map only by absence-tolerant requirements", () => {
    expect(matches("a!=b,c notin (d),!e", {})).toBe(true);
    expect(matches("a=b", {})).toBe(false);
    expect(matches("a", {})).toBe(false);
  });
});

describe("selectorFromRunnerSelector", () => {
  it("turns matchLabels into single-value `in` requirements and maps each operator", () => {
    const selector = selectorFromRunnerSelector({
      matchLabels: { env: "prod", tier: "" },
      matchExpressions: [
        { key: "region", operator: 1, values: ["eu", "us"] },
        { key: "zone", operator: 2, values: ["a"] },
        { key: "gpu", operator: 3, values: [] },
        { key: "spot", operator: 4, values: [] },
      ],
    });
    expect(selector).toEqual([
      { key: "env", operator: "in", values: ["prod"] },
      { key: "tier", operator: "in", values: [""] },
      { key: "region", operator: "in", values: ["eu", "us"] },
      { key: "zone", operator: "notin", values: ["a"] },
      { key: "gpu", operator: "exists", values: [] },
      { key: "spot", operator: "!exists", values: [] },
    ]);
    expect(canonicalSelector(selector)).toBe(
      canonicalSelector(parseLabelSelector("env=prod,tier=,region in (eu,us),zone notin (a),gpu,!spot")),
    );
  });

  it("an empty RunnerSelector selects everything", () => {
    const selector = selectorFromRunnerSelector({ matchLabels: {}, matchExpressions: [] });
    expect(selector).toEqual([]);
    expect(matchesSelector(selector, {})).toBe(true);
  });

  it.each([0, 5, -1, 1.5])("rejects operator %d", (operator) => {
    expect(() =>
      selectorFromRunnerSelector({ matchLabels: {}, matchExpressions: [{ key: "k", operator, values: [] }] }),
    ).toThrow(SelectorSyntaxError);
  });

  it("copies values instead of sharing the caller's arrays", () => {
    const values = ["a"];
    const selector = selectorFromRunnerSelector({
      matchLabels: {},
      matchExpressions: [{ key: "k", operator: 1, values }],
    });
    values.push("b");
    expect(selector[0]!.values).toEqual(["a"]);
  });
});

describe("canonicalSelector", () => {
  it("is empty for the empty selector", () => {
    expect(canonicalSelector([])).toBe("");
  });

  it("sorts requirements by key then operator, and values", () => {
    expect(canonicalSelector(parseLabelSelector("zone notin (c,a,b),env=prod,!spot,gpu,b in (y,x),b"))).toBe(
      "b,b in (x,y),env=prod,gpu,!spot,zone notin (a,b,c)",
    );
  });

  it("gives one form to different spellings of the same filter", () => {
    const forms = [
      "env=prod,region in (us,eu),!spot",
      " !spot , region in ( eu , us ) , env == prod ",
      "region in (eu,us,eu),env in (prod),!spot,env=prod",
    ].map((text) => canonicalSelector(parseLabelSelector(text)));
    expect(new Set(forms).size).toBe(1);
  });

  it("tells different filters apart", () => {
    const texts = [
      "env=prod",
      "env!=prod",
      "env in (prod,dev)",
      "env notin (prod,dev)",
      "env",
      "!env",
      "env=",
      "env!=",
      "env=prod,gpu",
      "",
    ];
    const forms = texts.map((text) => canonicalSelector(parseLabelSelector(text)));
    expect(new Set(forms).size).toBe(texts.length);
  });

  it("does not depend on the order of the input and does not mutate it", () => {
    const selector = parseLabelSelector("c=1,a in (z,y),b");
    const snapshot = structuredClone(selector);
    const reversed = [...selector].reverse();
    expect(canonicalSelector(reversed)).toBe(canonicalSelector(selector));
    expect(selector).toEqual(snapshot);
  });

  it.each([
    "env=prod,tier!=db,gpu,!spot,region in (eu,us),zone notin (a)",
    "env=,tier!=",
    "a in (b,c,d),a notin (e),a,!b",
    "example.com/x=1",
  ])("reads back to the same form: %j", (text) => {
    const canonical = canonicalSelector(parseLabelSelector(text));
    expect(canonicalSelector(parseLabelSelector(canonical))).toBe(canonical);
    const labelSets: Record<string, string>[] = [
      {},
      { env: "prod" },
      { env: "", tier: "" },
      { a: "b", b: "x" },
      { a: "e" },
      { "example.com/x": "1", gpu: "1", region: "us" },
    ];
    for (const labels of labelSets) {
      expect(matchesSelector(parseLabelSelector(canonical), labels)).toBe(
        matchesSelector(parseLabelSelector(text), labels),
      );
    }
  });
});
