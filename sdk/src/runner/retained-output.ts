/** One output message the runner keeps until the supervisor acknowledges it. */
export interface RetainedChunk {
  seq: number;
  /** Offset of data[0] in the run's output (both streams). */
  offset: number;
  stream: number;
  data: Buffer;
}

/**
 * A run's output not yet acknowledged as committed, bounded like the
 * supervisor's own cap: the run's first budget/2 bytes (the head) are kept,
 * later chunks roll through the rest. A chunk pushed out is simply gone; the
 * offsets of what follows tell the supervisor exactly how much is missing.
 */
export class RetainedOutput {
  private chunks: RetainedChunk[] = [];
  private bytes = 0;
  /** How many chunks at the front belong to the head (they are never pushed out). */
  private headCount = 0;

  constructor(public budgetBytes: number) {}

  add(chunk: RetainedChunk): void {
    const inHead = chunk.offset + chunk.data.length <= Math.floor(this.budgetBytes / 2);
    if (inHead && this.headCount === this.chunks.length) this.headCount++;
    this.chunks.push(chunk);
    this.bytes += chunk.data.length;
    // The oldest chunk past the head goes; the head and the newest chunk stay.
    while (this.bytes > this.budgetBytes && this.headCount < this.chunks.length - 1) {
      const [victim] = this.chunks.splice(this.headCount, 1);
      this.bytes -= victim!.data.length;
    }
  }

  /** The supervisor committed everything up to `seq`: forget it. */
  acknowledge(seq: number): void {
    if (this.chunks.length === 0 || this.chunks[0]!.seq > seq) return;
    let done = 0;
    while (done < this.chunks.length && this.chunks[done]!.seq <= seq) this.bytes -= this.chunks[done++]!.data.length;
    this.chunks = this.chunks.slice(done);
    this.headCount = Math.max(0, this.headCount - done);
  }

  /** What to send again after a reconnect, in order. */
  get pending(): readonly RetainedChunk[] {
    return this.chunks;
  }

  get size(): number {
    return this.bytes;
  }
}
