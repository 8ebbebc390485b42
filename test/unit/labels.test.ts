import { validateLabelKey, validateLabels, validateLabelValue } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";

const name63 = `a${"b".repeat(61)}c`;
const name64 = `${name63}d`;
// 253 characters of DNS subdomain: labels of 63 chars joined by dots.
const label63 = "x".repeat(63);
const prefix253 = [label63, label63, label63, "y".repeat(61)].join(".");

describe("validateLabelKey", () => {
  it.each([
    "a",
    "A",
    "9",
    "env",
    "Env_Name",
    "a.b-c_d",
    "a-----b",
    "a..b",
    name63,
    "example.com/name",
    "k8s.io/app",
    "a/b",
    "sub-domain.example-1.com/My.Name_x",
    `${prefix253}/n`,
    `${prefix253}/${name63}`,
  ])("accepts %s", (key) => {
    expect(validateLabelKey(key)).toBeUndefined();
  });

  it.each([
    ["", /empty/],
    [name64, /at most 63 characters/],
    ["-a", /start and end/],
    ["a-", /start and end/],
    ["_a", /start and end/],
    ["a_", /start and end/],
    [".a", /start and end/],
    ["a.", /start and end/],
    ["a b", /start and end/],
    ["a@b", /start and end/],
    ["ä", /start and end/],
    ["a=b", /start and end/],
    ["example.com/", /empty/],
    ["/name", /prefix/],
    ["Example.com/name", /prefix/],
    ["exa_mple.com/name", /prefix/],
    ["-example.com/name", /prefix/],
    ["example-.com/name", /prefix/],
    ["example..com/name", /prefix/],
    [".example.com/name", /prefix/],
    [`${prefix253}z/name`, /prefix/],
    ["a/b/c", /start and end/],
    [`example.com/${name64}`, /at most 63 characters/],
    ["example.com/-name", /start and end/],
  ])("rejects %j", (key, problem) => {
    expect(validateLabelKey(key)).toMatch(problem);
  });

  it("counts the 253-character prefix limit exactly", () => {
    expect(prefix253).toHaveLength(253);
    expect(validateLabelKey(`${prefix253}/n`)).toBeUndefined();
    expect(validateLabelKey(`${prefix253}0/n`)).toMatch(/prefix/);
  });

  it("does not let a trailing newline slip past the anchors", () => {
    expect(validateLabelKey("name\n")).toBeDefined();
    expect(validateLabelKey("example.com\n/name")).toBeDefined();
  });
});

describe("validateLabelValue", () => {
  it.each(["", "a", "Z", "0", "prod", "v1.2.3", "a-b_c.d", "A__b", name63])("accepts %j", (value) => {
    expect(validateLabelValue(value)).toBeUndefined();
  });

  it.each([
    [name64, /at most 63 characters/],
    ["-a", /start and end/],
    ["a-", /start and end/],
    ["_", /start and end/],
    [".", /start and end/],
    ["a/b", /start and end/],
    ["a b", /start and end/],
    [" a", /start and end/],
    ["a,b", /start and end/],
    ["a\n", /start and end/],
    ["é", /start and end/],
  ])("rejects %j", (value, problem) => {
    expect(validateLabelValue(value)).toMatch(problem);
  });
});

describe("validateLabels", () => {
  it("accepts an empty map and a map of good labels", () => {
    expect(validateLabels({})).toEqual([]);
    expect(validateLabels({ env: "prod", "example.com/tier": "", team: name63 })).toEqual([]);
  });

  it("reports one entry per bad label, naming its key", () => {
    const problems = validateLabels({ good: "ok", "-bad-key": "ok", "bad-value": "-x", "-both-": "-x-" });
    expect(problems.map((p) => p.key)).toEqual(["-bad-key", "bad-value", "-both-"]);
    for (const problem of problems) expect(problem.description).toMatch(/\S/);
    expect(problems[1]!.description).toMatch(/value/);
  });

  it("accepts exactly maxEntries labels and reports one more", () => {
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    expect(validateLabels(labels(64))).toEqual([]);
    expect(validateLabels(labels(65))).toEqual([{ key: "", description: expect.stringMatching(/at most 64/) }]);
    expect(validateLabels(labels(3), 2)).toHaveLength(1);
    expect(validateLabels(labels(2), 2)).toEqual([]);
  });
});
