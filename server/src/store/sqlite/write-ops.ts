/**
 * A batch as the writer receives it: statements by number with positional values, prepared on the
 * main thread. Plain arrays, strings, numbers and byte arrays: cheap to post to the writer thread.
 */
export type WriteValue = string | number | null | Uint8Array;

/** One statement to run: its index in WRITE_STATEMENTS, and its values. */
export type WriteOp = readonly [statement: number, values: readonly WriteValue[]];

export interface WriteStatement {
  sql: string;
  /** A run that changes no row fails the batch with `message`, its %s the value at `key` (stale decisions). */
  mustChange?: { key: number; message: string };
}
