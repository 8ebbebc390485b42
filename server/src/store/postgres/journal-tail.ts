import type { Logger } from "../../errors.js";
import type { TaskChange } from "../backend.js";
import type { OrderedPublisher } from "../ordered-publisher.js";

/** Journal entries one read brings at most (a server far behind catches up in steps). */
export const TAIL_BATCH = 1000;

/**
 * Reads the journal after what was published, up to the newest revision anyone said was committed,
 * and offers it to the publisher: how a server sharing the database hears the other servers' commits
 * (and its own whose answer was lost). Woken by a notification, by the periodic reconcile, and by an
 * own commit that found a gap before it. One read at a time; a failed read is tried again on the next
 * wake-up (the reconcile comes every fraction of a second).
 */
export class JournalTail {
  /** The newest revision known to be committed. */
  private target = 0;
  private reading: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly read: (afterRevision: number, limit: number) => Promise<TaskChange[]>,
    private readonly publisher: OrderedPublisher,
    private readonly log: Logger,
  ) {}

  /** Revisions up to `revision` are committed: read them, unless they are published or being read. */
  catchUp(revision: number): void {
    if (revision > this.target) this.target = revision;
    if (this.reading || this.publisher.failed !== undefined || this.publisher.head >= this.target) return;
    this.reading = this.readUpToTarget().then((caughtUp) => {
      this.reading = undefined;
      // A wake-up that came while the last read was answered found it still under way.
      if (caughtUp) this.catchUp(this.target);
    });
  }

  /** Resolves when no read is under way (the last wake-up's reads are done). */
  async idle(): Promise<void> {
    while (this.reading) await this.reading;
  }

  /** Reads until the target is published; false when it stopped short (nothing to read, or a failure). */
  private async readUpToTarget(): Promise<boolean> {
    try {
      while (this.publisher.head < this.target && this.publisher.failed === undefined) {
        const after = this.publisher.head;
        const changes = await this.read(after, TAIL_BATCH);
        this.failing = false;
        // Nothing after the head yet: the one who said so is ahead of what this read saw; the next wake-up reads again.
        if (changes.length === 0) return false;
        if (changes[0]!.revision > after + 1) {
          const error = new Error(
            `the journal was compacted past revision ${after}, which this server had not yet published ` +
              `(it starts at ${changes[0]!.revision}): watchers here would miss changes; restart the server`,
          );
          this.log("the journal tail cannot go on", error);
          this.publisher.fail(error);
          return false;
        }
        this.publisher.offer(changes);
      }
      return true;
    } catch (error) {
      if (!this.failing) this.log("reading the journal tail failed (retrying)", error);
      this.failing = true;
      return false;
    }
  }
}
