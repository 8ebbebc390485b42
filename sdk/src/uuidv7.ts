import { randomBytes } from "node:crypto";

/**
 * UUIDv7 (RFC 9562) ids that sort by creation time, strictly increasing within
 * this process: the 12-bit rand_a field is a counter within a millisecond
 * (method 1 of RFC 9562 §6.2), and the clock never goes backwards across
 * calls — nor across restarts, when seeded with the newest stored id. The
 * server's task and run ids, and the SDK's request ids: time-ordered keys
 * land next to each other in a B-tree instead of scattering it.
 */
export class IdGenerator {
  private lastMs = 0;
  private counter = 0;
  /** Random bytes fetched 4 KiB at a time: one crypto call per 512 ids instead of one per id. */
  private pool = Buffer.alloc(0);
  private poolOffset = 0;

  constructor(
    private readonly now: () => number = Date.now,
    newestExisting?: string,
  ) {
    if (newestExisting) {
      this.lastMs = parseInt(newestExisting.slice(0, 8) + newestExisting.slice(9, 13), 16);
      this.counter = parseInt(newestExisting.slice(15, 18), 16);
    }
  }

  next(): string {
    let ms = this.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.counter = 0;
    } else {
      ms = this.lastMs;
      this.counter += 1;
      if (this.counter > 0xfff) {
        // 4096 ids in one millisecond: borrow the next millisecond.
        ms = this.lastMs += 1;
        this.counter = 0;
      }
    }
    if (this.poolOffset + 8 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.poolOffset = 0;
    }
    const random = this.pool.subarray(this.poolOffset, (this.poolOffset += 8));
    const hex =
      ms.toString(16).padStart(12, "0") +
      "7" +
      this.counter.toString(16).padStart(3, "0") +
      ((random[0]! & 0x3f) | 0x80).toString(16).padStart(2, "0") +
      random.subarray(1).toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}
