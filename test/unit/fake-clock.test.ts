import { describe, expect, it } from "vitest";
import { FakeClock, SETTLE_TURNS } from "../helpers/fake-clock.js";

const START = 1_000_000;
const DAY = 86_400_000;

/** A chain of `length` setImmediate hops, like a group commit answering a caller who writes again. */
function immediateChain(length: number, done: () => void): void {
  if (length === 0) done();
  else setImmediate(() => immediateChain(length - 1, done));
}

describe("FakeClock advance", () => {
  it("fires a timer at its due time, not a millisecond before, with now() at the due time", () => {
    const clock = new FakeClock(START);
    const seen: number[] = [];
    clock.after(15_000, () => seen.push(clock.now()));
    clock.advance(14_999);
    expect(seen).toEqual([]);
    expect(clock.now()).toBe(START + 14_999);
    clock.advance(1);
    expect(seen).toEqual([START + 15_000]);
    expect(clock.pending).toBe(0);
  });

  it("fires due timers in time order, ties in the order they were armed", () => {
    const clock = new FakeClock(START);
    const order: string[] = [];
    clock.after(30, () => order.push("c"));
    clock.after(10, () => order.push("a1"));
    clock.after(20, () => order.push("b"));
    clock.after(10, () => order.push("a2"));
    clock.advance(100);
    expect(order).toEqual(["a1", "a2", "b", "c"]);
  });

  it("fires a timer armed by a firing timer when it falls within the window, and only then", () => {
    const clock = new FakeClock(START);
    const seen: [string, number][] = [];
    clock.after(10, () => {
      seen.push(["first", clock.now() - START]);
      clock.after(5, () => seen.push(["inside", clock.now() - START]));
      clock.after(500, () => seen.push(["outside", clock.now() - START]));
    });
    clock.advance(100);
    expect(seen).toEqual([
      ["first", 10],
      ["inside", 15],
    ]);
    expect(clock.nextDueMs).toBe(START + 510);
    clock.advanceTo(START + 510);
    expect(seen.at(-1)).toEqual(["outside", 510]);
  });

  it("a cancelled timer never fires, even when an earlier callback of the same move cancels it", () => {
    const clock = new FakeClock(START);
    let fired = 0;
    const later = clock.after(20, () => fired++);
    clock.after(10, () => later.cancel());
    clock.after(5, () => fired++).cancel();
    clock.advance(100);
    expect(fired).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("treats NaN, negative and zero delays as due now, and an infinite delay as never", () => {
    const clock = new FakeClock(START);
    const fired: string[] = [];
    clock.after(Number.NaN, () => fired.push("nan"));
    clock.after(-5, () => fired.push("negative"));
    clock.after(0, () => fired.push("zero"));
    clock.after(Number.POSITIVE_INFINITY, () => fired.push("infinite"));
    expect(fired).toEqual([]); // nothing fires until the clock is moved
    clock.advance(0);
    expect(fired).toEqual(["nan", "negative", "zero"]);
    clock.advance(10_000 * DAY);
    expect(fired).not.toContain("infinite");
  });

  it("every() ticks once per interval until cancelled; a zero interval becomes 1 ms", () => {
    const clock = new FakeClock(START);
    const ticks: number[] = [];
    const ticker = clock.every(1_000, () => ticks.push(clock.now() - START));
    clock.advance(3_500);
    expect(ticks).toEqual([1_000, 2_000, 3_000]);
    ticker.cancel();
    clock.advance(10_000);
    expect(ticks).toHaveLength(3);
    let fast = 0;
    const tight = clock.every(0, () => fast++);
    clock.advance(5);
    tight.cancel();
    expect(fast).toBe(5);
  });

  it("never goes back, and refuses a time that is not a number", () => {
    const clock = new FakeClock(START);
    clock.advance(10);
    expect(() => clock.advanceTo(START)).toThrow(/never goes back/);
    expect(() => clock.advance(Number.NaN)).toThrow(/cannot move/);
    expect(clock.now()).toBe(START + 10);
  });

  it("fails instead of hanging when a timer keeps re-arming itself with no delay", () => {
    const clock = new FakeClock(START);
    const rearm = () => void clock.after(0, rearm);
    clock.after(0, rearm);
    expect(() => clock.advance(1)).toThrow(/re-arms with no delay/);
  });

  it("counts the callbacks it ran", () => {
    const clock = new FakeClock(START);
    clock.every(10, () => {});
    clock.advance(100);
    expect(clock.fired).toBe(10);
  });
});

describe("FakeClock stall", () => {
  it("jumps first, then fires each overdue timer once, late, with now() at the end", () => {
    const clock = new FakeClock(START);
    const seen: [string, number][] = [];
    clock.after(15_000, () => seen.push(["lease", clock.now() - START]));
    clock.every(1_000, () => seen.push(["tick", clock.now() - START]));
    clock.after(90_000, () => seen.push(["later", clock.now() - START]));
    clock.stall(60_000);
    expect(seen).toEqual([
      ["tick", 60_000],
      ["lease", 60_000],
    ]);
    // The interval carries on from the stall's end, not from its missed ticks.
    clock.advance(1_000);
    expect(seen.at(-1)).toEqual(["tick", 61_000]);
  });
});

describe("FakeClock async moves", () => {
  it("lets promise and setImmediate work of one timer run before the next timer fires", async () => {
    const clock = new FakeClock(START);
    const seen: [string, number][] = [];
    clock.after(10, () => {
      // The work continues after a macrotask turn (as a group commit does) and arms a timer then.
      setImmediate(() => {
        seen.push(["work", clock.now() - START]);
        clock.after(5, () => seen.push(["armed by the work", clock.now() - START]));
      });
    });
    clock.after(12, () => seen.push(["second", clock.now() - START]));
    await clock.advanceAsync(20);
    expect(seen).toEqual([
      ["work", 10],
      ["second", 12],
      ["armed by the work", 15],
    ]);
  });

  it("the same timers fired synchronously leave the work for later: the async variant is what waits", () => {
    const clock = new FakeClock(START);
    const seen: string[] = [];
    clock.after(10, () => setImmediate(() => clock.after(5, () => seen.push("armed by the work"))));
    clock.advance(20);
    expect(seen).toEqual([]);
  });

  it("has run the work the last firing started when it returns", async () => {
    const clock = new FakeClock(START);
    let done = false;
    clock.after(20, () => immediateChain(SETTLE_TURNS - 1, () => (done = true)));
    await clock.advanceAsync(20);
    expect(done).toBe(true);
  });

  it("fires a zero-delay timer armed by settling work at the final instant within the same move", async () => {
    const clock = new FakeClock(START);
    const seen: number[] = [];
    clock.after(20, () => setImmediate(() => clock.after(0, () => seen.push(clock.now() - START))));
    await clock.advanceAsync(20);
    expect(seen).toEqual([20]);
  });

  it("a stall, asynchronously: overdue timers fire late, each after the work of the one before", async () => {
    const clock = new FakeClock(START);
    const seen: [string, number][] = [];
    clock.after(15_000, () => setImmediate(() => seen.push(["lease work", clock.now() - START])));
    clock.after(30_000, () => seen.push(["second", clock.now() - START]));
    await clock.stallAsync(60_000);
    expect(seen).toEqual([
      ["lease work", 60_000],
      ["second", 60_000],
    ]);
  });

  it("a chain of immediates longer than one settle is finished by settling again", async () => {
    const clock = new FakeClock(START);
    let done = false;
    immediateChain(SETTLE_TURNS * 3, () => (done = true));
    await clock.settle();
    expect(done).toBe(false);
    await clock.settle(SETTLE_TURNS * 3);
    expect(done).toBe(true);
    expect(clock.now()).toBe(START);
  });
});
