import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { storeUnavailable } from "../../errors.js";
import { threadError } from "./thread-error.js";
import type { WriteOp } from "./write-ops.js";
import { WRITE_STATEMENTS } from "./write-statements.js";
import type { Writer } from "./writer.js";
import {
  type FromWriterThread,
  type ThreadError,
  WRITER_THREAD_SOURCE,
  type WriterThreadData,
} from "./writer-thread.js";

const DRIVER = createRequire(import.meta.url).resolve("better-sqlite3");

interface Waiting {
  resolve(changed: number[]): void;
  reject(error: unknown): void;
}

/**
 * The write connection in a worker thread: COMMIT and its fsync (and the WAL's checkpoints) block that
 * thread, not the event loop, so gRPC keeps serving while a batch syncs. Batches are answered in the
 * order they were posted. A thread that dies fails what it was given and every later batch with
 * STORE_UNAVAILABLE; reads (the backend's own connection) keep working.
 */
export class WorkerWriter implements Writer {
  private readonly thread: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  /** Why batches fail at once: the thread is gone (or closing). */
  private gone: Error | undefined;
  private exitCause: unknown;
  private closed: Promise<void> | undefined;
  /** The thread's answer to "close": undefined until it came. */
  private closeAnswer: { error?: ThreadError } | undefined;
  private onExit: ((error?: Error) => void) | undefined;

  constructor(path: string, pragmas: readonly string[]) {
    const workerData: WriterThreadData = { driver: DRIVER, path, pragmas, statements: WRITE_STATEMENTS };
    this.thread = new Worker(WRITER_THREAD_SOURCE, { eval: true, workerData });
    // Idle, the thread does not keep the process alive; a batch under way does (see commit).
    this.thread.unref();
    this.thread.on("message", (message: FromWriterThread) => this.answered(message));
    this.thread.on("error", (error) => (this.exitCause = error)); // an uncaught exception: "exit" follows
    this.thread.on("exit", (code) => this.exited(code));
  }

  commit(ops: readonly WriteOp[]): Promise<number[]> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<number[]>((resolve, reject) => {
      this.thread.postMessage({ type: "commit", id, ops });
      this.waiting.set(id, { resolve, reject });
      // While a batch is under way the thread keeps the process alive: its answer must arrive.
      if (this.waiting.size === 1) this.thread.ref();
    });
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve, reject) => {
      if (this.gone) return resolve(); // dead already: nothing left to flush
      this.onExit = (error) => (error ? reject(error) : resolve());
      this.gone = new Error("the SQLite writer is closed");
      this.thread.ref();
      this.thread.postMessage({ type: "close" });
    });
    return this.closed;
  }

  /**
   * Stops the thread at once, as a crash would: what it was given fails (for tests of a writer that died).
   * Only while its statements succeed: better-sqlite3 aborts the whole process when a SQLite error is
   * thrown in a thread being stopped (a commit blocked on a lock until its busy timeout, for one).
   */
  async terminate(): Promise<void> {
    await this.thread.terminate();
  }

  private answered(message: FromWriterThread): void {
    if (message.type === "closed") {
      this.closeAnswer = { error: message.error };
      return; // the thread ends next: "exit"
    }
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    if (this.waiting.size === 0 && !this.closed) this.thread.unref();
    if (message.type === "committed") waiting.resolve(message.changed);
    else waiting.reject(threadError(message.error));
  }

  private exited(code: number): void {
    const cause = this.exitCause instanceof Error ? `: ${this.exitCause.message}` : "";
    const error = storeUnavailable(`the SQLite writer thread stopped (exit code ${code})${cause}`);
    this.gone ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
    const answer = this.closeAnswer;
    this.onExit?.(answer ? answer.error && threadError(answer.error) : error);
  }
}
