import type { Statement } from "better-sqlite3";
import { applyOps } from "./apply-ops.js";
import type { Db } from "./open.js";
import type { WriteOp } from "./write-ops.js";
import { WRITE_STATEMENTS } from "./write-statements.js";
import type { Writer } from "./writer.js";

/**
 * Writes on the backend's own connection, on the event loop: for `:memory:` databases, which a
 * second connection (the writer thread's) cannot share. The backend closes the connection.
 */
export class InThreadWriter implements Writer {
  private readonly prepared: Statement[] = [];
  private readonly apply: (ops: readonly WriteOp[]) => number[];

  constructor(private readonly db: Db) {
    // One transaction function, made once (better-sqlite3 wraps BEGIN/COMMIT/ROLLBACK around it).
    this.apply = db.transaction((ops: readonly WriteOp[]) => applyOps(db, WRITE_STATEMENTS, this.prepared, ops));
  }

  async commit(ops: readonly WriteOp[]): Promise<number[]> {
    return this.apply(ops);
  }

  async close(): Promise<void> {
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }
}
