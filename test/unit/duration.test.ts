import { DurationSyntaxError, duration, parseDurationMs, TOKEN_ROLES } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { ROLES } from "../../server/src/config.js";

describe("the one duration syntax (sdk parseDurationMs)", () => {
  it.each([
    ["500ms", 500],
    ["15s", 15_000],
    ["1.5m", 90_000],
    ["24h", 86_400_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
    ["1h30m", 5_400_000],
    ["1m30s250ms", 90_250],
    [" 10s ", 10_000],
    ["0s", 0],
  ])("reads %s as %d ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(["soon", "", "5 apples", "-3s", "1x", "1h 30m", "1e3s", "s", "10", "NaN", "Infinityms", "1.s"])(
    "refuses %j with a message saying what would do",
    (text) => {
      expect(() => parseDurationMs(text)).toThrow(DurationSyntaxError);
      expect(() => parseDurationMs(text)).toThrow(/expected a duration such as 500ms, 15s/);
    },
  );

  it("reads a bare number as milliseconds only when asked (server settings), and hints at units otherwise", () => {
    expect(parseDurationMs("15000", { bareNumberIsMs: true })).toBe(15_000);
    expect(parseDurationMs(2500, { bareNumberIsMs: true })).toBe(2500);
    expect(() => parseDurationMs("30")).toThrow('got "30" (add a unit: 30s, 30ms, ...)');
    expect(() => parseDurationMs(-1, { bareNumberIsMs: true })).toThrow(DurationSyntaxError);
  });

  it("duration() makes a google.protobuf.Duration from the same syntax", () => {
    expect(duration("1h30m")).toEqual({ seconds: 5400, nanos: 0 });
    expect(duration("1500ms")).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(() => duration("7 days")).toThrow(DurationSyntaxError);
  });
});

describe("token roles", () => {
  it("the SDK's list (used by `supervisor token`) is the server's", () => {
    expect([...TOKEN_ROLES]).toEqual([...ROLES]);
  });
});
