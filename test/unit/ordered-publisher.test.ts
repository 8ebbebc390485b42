import { EventType, Task } from "@supervisor/sdk";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskChange } from "../../server/src/store/backend.js";
import { OrderedPublisher } from "../../server/src/store/ordered-publisher.js";

const change = (revision: number): TaskChange => ({
  revision,
  type: EventType.EVENT_TYPE_ADDED,
  task: Task.fromPartial({ id: `task-${revision}`, revision }),
});
/** Changes `from`..`to`, one batch. */
const batch = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => change(from + i));

/** A publisher from `head`, and every revision it delivered, batch by batch. */
function publisher(head = 0) {
  const delivered: number[][] = [];
  const p = new OrderedPublisher(head, (changes) => delivered.push(changes.map((c) => c.revision)));
  return { p, delivered };
}

describe("OrderedPublisher: every change once, in revision order, with no gap", () => {
  it("a batch that follows on from the head is published at once", () => {
    const { p, delivered } = publisher(4);
    p.offer(batch(5, 7));
    expect(delivered).toEqual([[5, 6, 7]]);
    expect(p.head).toBe(7);
  });

  it("a batch past a gap waits until the gap is offered, then both go out in order", async () => {
    const { p, delivered } = publisher();
    p.offer(batch(4, 5));
    expect(delivered).toEqual([]);
    let published = false;
    const waiting = p.until(5).then(() => (published = true));
    await Promise.resolve();
    expect(published).toBe(false);
    p.offer(batch(1, 3));
    expect(delivered).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    await waiting;
    expect(published).toBe(true);
  });

  it("what overlaps the published part is dropped, the rest goes out", () => {
    const { p, delivered } = publisher();
    p.offer(batch(1, 3));
    p.offer(batch(2, 5));
    p.offer(batch(1, 2));
    expect(delivered).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("until() of a published revision resolves at once; after fail() every wait rejects and nothing goes out", async () => {
    const { p, delivered } = publisher(3);
    await p.until(3);
    const waiting = p.until(9);
    p.offer(batch(6, 9));
    const broken = new Error("compacted");
    p.fail(broken);
    await expect(waiting).rejects.toBe(broken);
    await expect(p.until(10)).rejects.toBe(broken);
    p.offer(batch(4, 9));
    expect(delivered).toEqual([]);
    expect(p.failed).toBe(broken);
  });

  it("batches cut from one history, offered in any order and any number of times: the history, once, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }),
        (sizes, shuffles) => {
          let next = 1;
          const batches = sizes.map((size) => batch(next, (next += size) - 1));
          const head = next - 1;
          // Each batch offered once, in a shuffled order, plus repeats and overlapping slices.
          const offers = [...batches];
          for (const [a, b] of shuffles) {
            const i = a % offers.length;
            const j = b % offers.length;
            [offers[i], offers[j]] = [offers[j]!, offers[i]!];
            offers.push(batches[a % batches.length]!.slice(b % 2));
          }
          const { p, delivered } = publisher();
          for (const offered of offers) if (offered.length > 0) p.offer(offered);
          expect(delivered.flat()).toEqual(Array.from({ length: head }, (_, i) => i + 1));
          expect(p.head).toBe(head);
        },
      ),
    );
  });
});
