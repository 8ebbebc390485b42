import { asBuffer, batchWire } from "./batch-wire.js";

export interface CoalescingWriterOptions<M> {
  /** Writes one message: the object as it is, or ready-made wire bytes (a message alone or a batch). */
  write(wire: M | Buffer): void;
  /** The message's encoding as a single Connect message. */
  encode(message: M): Uint8Array;
  /** Whether the message may travel in a batch; any other message is written at once, after what is queued. */
  batchable(message: M): boolean;
  /** Queues the flush; everything sent before it runs goes in one message. */
  schedule(flush: () => void): void;
  /** A batch is written once it holds this many items... */
  maxItems: number;
  /** ...or before an item would take it past this many bytes (an item bigger than that goes alone). */
  maxBytes: number;
}

/** Length prefix and tag of an item inside a batch, at most. */
const ITEM_FRAMING_BYTES = 6;

/**
 * Puts the messages of one side of a Connect stream that are sent close
 * together into one `batch`: every message costs grpc-js (and the peer) a
 * fixed amount of work whatever its size. Order is kept: a message that may
 * not be batched first writes out what is queued. Messages are encoded once,
 * as they are queued, so their size is known exactly; a lone message goes out
 * as itself, the same bytes an unbatched writer would send.
 */
export class CoalescingWriter<M> {
  private items: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushScheduled = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly options: CoalescingWriterOptions<M>) {}

  send(message: M): void {
    const { batchable, encode, maxItems, maxBytes, schedule } = this.options;
    if (!batchable(message)) {
      this.flush();
      this.options.write(message);
      return;
    }
    const encoded = encode(message);
    const size = encoded.length + ITEM_FRAMING_BYTES;
    if (this.items.length > 0 && this.bytes + size > maxBytes) this.flush();
    this.items.push(encoded);
    this.bytes += size;
    if (this.items.length >= maxItems) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      schedule(this.flushScheduled);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    this.options.write(items.length === 1 ? asBuffer(items[0]!) : batchWire(items));
  }

  /** Forgets what is queued (the stream is gone). */
  discard(): void {
    this.items = [];
    this.bytes = 0;
  }

  /** Messages queued, not yet written. */
  get queued(): number {
    return this.items.length;
  }
}
