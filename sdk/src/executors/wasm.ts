import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { WasmExec } from "../gen/supervisor/v1/task.js";
import { DEFAULT_MAX_MODULE_BYTES, readModuleFile } from "./module-file.js";
import {
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type OutputStreamName,
  type StopReason,
  stopReasonNow,
  stopSignalOf,
  untilAborted,
  watchForStop,
} from "./types.js";
import { compileProblem, runProblem, type WorkerError } from "./wasm-problems.js";

export { DEFAULT_MAX_MODULE_BYTES } from "./module-file.js";

export interface WasmOptions {
  /** Larger module files are refused without being read. Default: DEFAULT_MAX_MODULE_BYTES (64 MiB). */
  maxModuleBytes?: number;
}

/**
 * Runs in a worker thread: a WebAssembly call is synchronous, and only a
 * worker can be stopped (terminate) in the middle of one. Inline so that it
 * works the same from the TypeScript sources and from the built package.
 * Removing the warning listeners silences the WASI ExperimentalWarning; they
 * belong to this thread only, and nothing else runs here. An error is posted
 * as its stage, name and message: the main thread decides what to repeat.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
process.removeAllListeners("warning");
const { WASI } = require("node:wasi");
const { module, args, env, stdout, stderr } = workerData;
let stage = "instantiate";
try {
  const wasi = new WASI({ version: "preview1", args, env, stdout, stderr, returnOnExit: true });
  const instance = new WebAssembly.Instance(module, wasi.getImportObject());
  stage = "run";
  parentPort.postMessage({ exitCode: wasi.start(instance) });
} catch (error) {
  const known = error !== null && typeof error === "object";
  const name = known ? String(error.name) : "";
  parentPort.postMessage({ error: { stage, name, message: known ? String(error.message) : "" } });
}
`;

type WorkerReport = { exitCode: number } | { error: WorkerError };

/** This package's TypeScript settings carry no WebAssembly types: the one call used here. */
const webAssembly = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } })
  .WebAssembly;

// How often output written by the module is picked up while it runs.
const OUTPUT_POLL_MS = 100;

/**
 * A temp file the module writes one stream to (WASI wants a file descriptor;
 * node offers no pipe), read back from the main thread as it grows.
 */
class CapturedStream {
  readonly fd: number;
  private position = 0;
  private readonly buffer = Buffer.alloc(64 * 1024);

  constructor(
    path: string,
    private readonly stream: OutputStreamName,
  ) {
    // Read and write: the worker writes at the shared offset, we read at our own position.
    this.fd = openSync(path, "w+");
  }

  /** Passes on everything written since the last call. */
  forward(onOutput: (stream: OutputStreamName, data: Buffer) => void): void {
    for (;;) {
      const length = readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
      if (length === 0) return;
      this.position += length;
      onOutput(this.stream, Buffer.from(this.buffer.subarray(0, length)));
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // the module closed it itself (fd_close)
    }
  }
}

/** Both captured streams, in a temp directory removed as soon as the files are open. */
class CapturedOutput {
  private readonly dir = mkdtempSync(join(tmpdir(), "supervisor-wasm-"));
  readonly stdout = new CapturedStream(join(this.dir, "stdout"), "stdout");
  readonly stderr = new CapturedStream(join(this.dir, "stderr"), "stderr");

  constructor() {
    // Open files outlive their names (on Unix), so a runner killed mid-run leaves nothing behind.
    this.removeDir();
  }

  forward(onOutput: ExecutionContext["onOutput"]): void {
    this.stdout.forward(onOutput);
    this.stderr.forward(onOutput);
  }

  close(): void {
    this.stdout.close();
    this.stderr.close();
    this.removeDir(); // where open files cannot be removed (Windows), they could only go now
  }

  private removeDir(): void {
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // still open here; close() tries again
    }
  }
}

function messageOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/** Runs a compiled module in a worker until it exits or is stopped; output is forwarded while it runs. */
function runInWorker(
  module: object,
  spec: WasmExec,
  ctx: ExecutionContext,
  output: CapturedOutput,
): Promise<ExecutionResult> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module,
        args: [spec.modulePath, ...spec.args],
        env: spec.env,
        stdout: output.stdout.fd,
        stderr: output.stderr.fd,
      },
      // The worker's own console is not the module's output; keep it out of the runner's.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    let report: WorkerReport | undefined;
    let stoppedFor: StopReason | undefined;
    let crash: Error | undefined;
    const forwardOutput = () => {
      try {
        output.forward(ctx.onOutput);
      } catch {
        // a failed read may cut the output short; it must not leave the run unfinished
      }
    };
    const poll = setInterval(forwardOutput, OUTPUT_POLL_MS);
    const unwatch = watchForStop(ctx, (reason) => {
      stoppedFor = reason;
      void worker.terminate();
    });
    worker.on("message", (message: WorkerReport) => (report ??= message));
    worker.on("error", (error) => (crash ??= error));
    // Messages posted before the worker ended are delivered before "exit".
    worker.on("exit", () => {
      clearInterval(poll);
      unwatch();
      forwardOutput();
      if (report && "exitCode" in report) {
        resolve(
          report.exitCode === 0
            ? { outcome: "succeeded", exitCode: 0 }
            : { outcome: "failed", exitCode: report.exitCode },
        );
      } else if (stoppedFor) {
        resolve({ outcome: stoppedFor });
      } else {
        const why = report ? runProblem(report.error) : crash ? String(crash) : "the worker exited without a result";
        resolve({ outcome: "failed", error: `run ${spec.modulePath}: ${why}` });
      }
    });
  });
}

/** Reads and compiles the module; a stop (cancel or deadline) ends either at once. */
async function loadModule(
  spec: WasmExec,
  ctx: ExecutionContext,
  maxBytes: number,
): Promise<{ module: object } | { result: ExecutionResult }> {
  const stop = stopSignalOf(ctx);
  const stopped = () => ({ result: { outcome: stop.signal.reason as StopReason } });
  try {
    let bytes: Buffer;
    try {
      bytes = await readModuleFile(spec.modulePath, { maxBytes, signal: stop.signal });
    } catch (error) {
      if (stop.signal.aborted) return stopped();
      return { result: { outcome: "failed", error: `read ${spec.modulePath}: ${messageOf(error)}` } };
    }
    try {
      // Compiled here, off the worker: a broken module fails before any thread starts.
      return { module: await untilAborted(webAssembly.compile(bytes), stop.signal) };
    } catch (error) {
      if (stop.signal.aborted) return stopped();
      const problem = compileProblem(bytes, error);
      return { result: { outcome: "failed", error: `compile ${spec.modulePath} (${bytes.length} bytes): ${problem}` } };
    }
  } finally {
    stop.unwatch();
  }
}

async function executeWasm(spec: WasmExec, ctx: ExecutionContext, maxBytes: number): Promise<ExecutionResult> {
  const early = stopReasonNow(ctx);
  if (early) return { outcome: early };
  const loaded = await loadModule(spec, ctx, maxBytes);
  if ("result" in loaded) return loaded.result;
  const output = new CapturedOutput();
  try {
    return await runInWorker(loaded.module, spec, ctx, output);
  } finally {
    output.close();
  }
}

/**
 * A WASI (preview 1) module run in a worker thread with the spec's args and
 * env and no filesystem access; a cancel or the deadline terminates the
 * worker, or stops reading and compiling the module. stdout and stderr are
 * forwarded while it runs. Only a regular file of at most maxModuleBytes is
 * read, and no error repeats the file's bytes.
 */
export function createWasmExecutor(options: WasmOptions = {}): Executor<WasmExec> {
  const maxBytes = options.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`maxModuleBytes must be a whole number of bytes, at least 1 (got ${maxBytes})`);
  }
  return {
    execute(spec: WasmExec, ctx: ExecutionContext): Promise<ExecutionResult> {
      return executeWasm(spec, ctx, maxBytes).catch((error: unknown) => ({
        outcome: "failed",
        error: `wasm ${spec.modulePath}: ${messageOf(error)}`,
      }));
    },
  };
}

export const wasmExecutor: Executor<WasmExec> = createWasmExecutor();
