/** Where a chunk's bytes go: how many leading bytes to skip (already had, or cut), and which stored chunks to drop. */
export interface CapDecision {
  /** Leading bytes of the chunk not to store. */
  skip: number;
  /** Bytes of the chunk to store (after the skipped ones); 0 = store nothing. */
  keep: number;
  /** Earlier stored chunks (by seq) the rolling tail pushes out. */
  dropSeqs: number[];
}

/**
 * The per-run output cap over byte offsets: the first half of the budget
 * keeps the head of the output, the second half a rolling tail; what falls
 * between is dropped. Chunks carry their offset in the run's output, so a
 * resent chunk is recognised exactly and a jump in offsets (output a runner
 * had to drop) is a gap like any other. Pure bookkeeping: it says what to
 * store and which stored chunks to delete.
 */
export class OutputCap {
  /** Bytes of the run's output accounted for: the end offset of the newest chunk. */
  accounted = 0;
  headBytes = 0;
  tailBytes = 0;
  private headOpen = true;
  private readonly tail: { seq: number; size: number }[] = [];

  constructor(readonly capBytes: number) {}

  private get headBudget(): number {
    return Math.floor(this.capBytes / 2);
  }

  /**
   * Accounts for a chunk of `size` bytes at `offset`. Undefined when every
   * byte of it is already accounted for (a resend after a reconnect).
   */
  add(seq: number, offset: number, size: number): CapDecision | undefined {
    const end = offset + size;
    if (size === 0 || end <= this.accounted) return undefined;
    let skip = Math.max(0, this.accounted - offset);
    if (offset > this.accounted) this.headOpen = false; // the runner dropped bytes: the head is over
    this.accounted = end;
    const fresh = size - skip;
    if (this.headOpen && this.headBytes + fresh <= this.headBudget) {
      this.headBytes += fresh;
      return { skip, keep: fresh, dropSeqs: [] };
    }
    this.headOpen = false;
    const tailBudget = this.capBytes - this.headBudget;
    const keep = Math.min(fresh, tailBudget);
    skip += fresh - keep; // a chunk larger than the tail keeps only its end
    this.tail.push({ seq, size: keep });
    this.tailBytes += keep;
    const dropSeqs: number[] = [];
    while (this.tailBytes > tailBudget && this.tail.length > 1) {
      const oldest = this.tail.shift()!;
      this.tailBytes -= oldest.size;
      dropSeqs.push(oldest.seq);
    }
    return { skip, keep, dropSeqs };
  }

  /** Rebuilds the cap from a stored chunk (in seq order), after a restart. */
  restore(seq: number, offset: number, size: number): void {
    if (this.headOpen && offset === this.accounted && this.headBytes + size <= this.headBudget) {
      this.headBytes += size;
    } else {
      this.headOpen = false;
      this.tail.push({ seq, size });
      this.tailBytes += size;
    }
    this.accounted = Math.max(this.accounted, offset + size);
  }

  get storedBytes(): number {
    return this.headBytes + this.tailBytes;
  }

  /** Bytes accounted for but not stored. */
  get droppedBytes(): number {
    return this.accounted - this.storedBytes;
  }

  get truncated(): boolean {
    return this.droppedBytes > 0;
  }
}
