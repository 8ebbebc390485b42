import type { WriteOp } from "./write-ops.js";

/**
 * The one write connection: commits each batch of statements in one transaction. The backend hands
 * batches over one at a time, each once the one before it is answered.
 */
export interface Writer {
  /**
   * Resolves once the batch is committed, with how many rows each of its statements changed; rejects
   * (nothing of it written) with the SQLite error.
   */
  commit(ops: readonly WriteOp[]): Promise<number[]>;
  /** Finishes what it was given, checkpoints the WAL (TRUNCATE) and closes its connection. */
  close(): Promise<void>;
}
