import { IdGenerator, UUID_PATTERN } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("IdGenerator (UUIDv7)", () => {
  it("makes RFC 9562 version 7 ids whose first 48 bits are the time in ms", () => {
    const id = new IdGenerator(() => 0x0190c5e27b1d).next();
    expect(id).toMatch(V7);
    expect(id).toMatch(UUID_PATTERN);
    expect(id.startsWith("0190c5e2-7b1d-7")).toBe(true);
  });

  it("strictly increases within a millisecond, past 4096 ids, and when the clock steps back", () => {
    let now = 1_700_000_000_000;
    const ids = new IdGenerator(() => now);
    const made: string[] = [];
    for (let i = 0; i < 5000; i++) made.push(ids.next()); // one millisecond: the counter overflows into the next
    now -= 10_000; // the clock goes back
    for (let i = 0; i < 10; i++) made.push(ids.next());
    expect(made.every((id) => V7.test(id))).toBe(true);
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });

  it("continues after the newest existing id it is seeded with", () => {
    const newest = new IdGenerator(() => 2_000_000_000_000).next();
    const next = new IdGenerator(() => 1_000_000_000_000, newest).next(); // restarted with a clock behind
    expect(next > newest).toBe(true);
  });

  it("defaults to the wall clock", () => {
    const before = Date.now();
    const id = new IdGenerator().next();
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
