import { randomBytes } from "node:crypto";

/** "00" … "ff": an id is written from these, not with toString(16) and padStart per field. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

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
  /** "xxxxxxxx-xxxx-7" for lastMs: written once per millisecond, not once per id. */
  private prefix = "";
  /** Random bytes fetched 4 KiB at a time: one crypto call per 512 ids instead of one per id. */
  private pool = Buffer.alloc(0);
  private poolOffset = 0;

  constructor(
    private readonly now: () => number = Date.now,
    newestExisting?: string,
  ) {
    if (newestExisting) {
      this.setMs(parseInt(newestExisting.slice(0, 8) + newestExisting.slice(9, 13), 16));
      this.counter = parseInt(newestExisting.slice(15, 18), 16);
    }
  }

  next(): string {
    const ms = this.now();
    if (ms > this.lastMs) {
      this.setMs(ms);
      this.counter = 0;
    } else {
      this.counter += 1;
      if (this.counter > 0xfff) {
        // 4096 ids in one millisecond: borrow the next millisecond.
        this.setMs(this.lastMs + 1);
        this.counter = 0;
      }
    }
    if (this.poolOffset + 8 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.poolOffset = 0;
    }
    const r = this.pool;
    const i = this.poolOffset;
    this.poolOffset += 8;
    const counter = this.counter;
    return (
      this.prefix +
      (counter >> 8).toString(16) +
      HEX[counter & 0xff] +
      "-" +
      HEX[(r[i]! & 0x3f) | 0x80] + // the variant: 0b10
      HEX[r[i + 1]!] +
      "-" +
      HEX[r[i + 2]!] +
      HEX[r[i + 3]!] +
      HEX[r[i + 4]!] +
      HEX[r[i + 5]!] +
      HEX[r[i + 6]!] +
      HEX[r[i + 7]!]
    );
  }

  private setMs(ms: number): void {
    this.lastMs = ms;
    const hex = ms.toString(16).padStart(12, "0");
    this.prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
  }
}
