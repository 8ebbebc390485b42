import type { Statement } from "better-sqlite3";
import { applyOps } from "./apply-ops.js";
import type { Db } from "./open.js";
import type { WriteOp, WriteStatement } from "./write-ops.js";

/** What the thread is started with. */
export interface WriterThreadData {
  /** better-sqlite3's entry file, resolved by the main thread (the thread's own `require` has no base). */
  driver: string;
  path: string;
  /** Run on the thread's connection once it is open (the durability settings: open.ts). */
  pragmas: readonly string[];
  statements: readonly WriteStatement[];
}

/** A SQLite error as it crosses to the main thread: its code is what errors.ts translates. */
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
}

export type ToWriterThread = { type: "commit"; id: number; ops: readonly WriteOp[] } | { type: "close" };

export type FromWriterThread =
  /** `changed`: how many rows each statement of the batch changed. */
  | { type: "committed"; id: number; changed: number[] }
  | { type: "failed"; id: number; error: ThreadError }
  /** Sent once the connection is closed; then the thread ends. */
  | { type: "closed"; error?: ThreadError };

/**
 * The writer thread: one connection that applies each batch in one transaction (its COMMIT, fsync and
 * the WAL's automatic checkpoints happen here, off the event loop) and answers each in turn. At
 * "close" it checkpoints (TRUNCATE), closes the connection and lets the thread end.
 *
 * Its source text is what runs in the thread (`WRITER_THREAD_SOURCE`), as in the SDK's wasm executor
 * (sdk/src/executors/wasm.ts): a worker cannot load the TypeScript sources the tests run, and an inline
 * source works the same from them and from the built package (dist). So it must be self-contained: no
 * imports, nothing from this module's scope except `apply`, handed in.
 */
function writerThread(apply: typeof applyOps): void {
  const threads = require("node:worker_threads") as typeof import("node:worker_threads");
  const data = threads.workerData as WriterThreadData;
  const port = threads.parentPort!;
  const answer = (message: FromWriterThread) => port.postMessage(message);
  const describe = (error: unknown): ThreadError => {
    const known = error !== null && typeof error === "object";
    const code = known ? (error as { code?: unknown }).code : undefined;
    return {
      name: known ? String((error as Error).name) : "Error",
      message: known ? String((error as Error).message) : String(error),
      code: typeof code === "string" ? code : undefined,
    };
  };
  let db: Db | undefined;
  let openFailure: unknown;
  try {
    const Database = require(data.driver);
    db = new Database(data.path) as Db;
    for (const pragma of data.pragmas) db.pragma(pragma);
  } catch (error) {
    // Every batch fails with it (its code says whether the disk is at fault); the thread stays to say so.
    openFailure = error;
  }
  const prepared: Statement[] = [];
  const commit = db?.transaction((ops: readonly WriteOp[]) => apply(db!, data.statements, prepared, ops));
  port.on("message", (message: ToWriterThread) => {
    if (message.type === "close") {
      let error: ThreadError | undefined;
      try {
        // Every answered batch is committed already; folding the WAL in makes the next start quick.
        db?.pragma("wal_checkpoint(TRUNCATE)");
      } catch (failure) {
        error = describe(failure);
      }
      try {
        db?.close();
      } catch (failure) {
        error ??= describe(failure);
      }
      answer({ type: "closed", error });
      port.close();
      return;
    }
    try {
      if (!commit) throw openFailure;
      const changed = commit(message.ops);
      answer({ type: "committed", id: message.id, changed });
    } catch (error) {
      answer({ type: "failed", id: message.id, error: describe(error) });
    }
  });
}

export const WRITER_THREAD_SOURCE = `"use strict";\n(${writerThread.toString()})(${applyOps.toString()});\n`;
