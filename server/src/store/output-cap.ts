/**
 * The per-run output cap: the first half of the budget keeps the head of the
 * output, the second half a rolling tail; what falls between is dropped and
 * counted. Pure bookkeeping: it says which stored chunks to drop.
 */
export class OutputCap {
  headBytes = 0;
  /** Last seq of the kept head; chunks after it belong to the tail. */
  headSeq = 0;
  tailBytes = 0;
  droppedBytes = 0;
  totalBytes = 0;
  private readonly tail: { seq: number; size: number }[] = [];

  constructor(readonly capBytes: number) {}

  /**
   * Accounts for a chunk. Returns how many bytes of it to store (a chunk
   * larger than the tail budget keeps only its end) and which earlier tail
   * chunks to delete.
   */
  add(seq: number, size: number): { keepBytes: number; dropSeqs: number[] } {
    this.totalBytes += size;
    const headBudget = Math.floor(this.capBytes / 2);
    const tailBudget = this.capBytes - headBudget;
    if (this.tail.length === 0 && this.droppedBytes === 0 && this.headBytes + size <= headBudget) {
      this.headBytes += size;
      this.headSeq = seq;
      return { keepBytes: size, dropSeqs: [] };
    }
    const keepBytes = Math.min(size, tailBudget);
    this.droppedBytes += size - keepBytes;
    this.tail.push({ seq, size: keepBytes });
    this.tailBytes += keepBytes;
    const dropSeqs: number[] = [];
    while (this.tailBytes > tailBudget && this.tail.length > 1) {
      const oldest = this.tail.shift()!;
      this.tailBytes -= oldest.size;
      this.droppedBytes += oldest.size;
      dropSeqs.push(oldest.seq);
    }
    return { keepBytes, dropSeqs };
  }

  get truncated(): boolean {
    return this.droppedBytes > 0;
  }
}
