import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { WasmExec } from "../gen/supervisor/v1/task.js";
import type { ExecutionContext, ExecutionResult, Executor } from "./types.js";

/**
 * Runs in a worker thread: WebAssembly is synchronous, and only a worker can
 * be stopped (terminate) at a deadline or on cancel. Inline (eval) so it
 * works the same from source and from the built package.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { WASI } = require("node:wasi");
const fs = require("node:fs");
process.removeAllListeners("warning");
(async () => {
  const stdout = fs.openSync(workerData.stdoutPath, "w");
  const stderr = fs.openSync(workerData.stderrPath, "w");
  try {
    const wasi = new WASI({ version: "preview1", args: workerData.args, env: workerData.env, stdout, stderr, returnOnExit: true });
    const module = await WebAssembly.compile(fs.readFileSync(workerData.modulePath));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    const exitCode = wasi.start(instance);
    parentPort.postMessage({ exitCode });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  } finally {
    fs.closeSync(stdout);
    fs.closeSync(stderr);
  }
})();
`;

/** A WASI (preview 1) module with args and env; its stdout and stderr are captured and reported when it ends. */
export const wasmExecutor: Executor<WasmExec> = {
  execute(spec: WasmExec, ctx: ExecutionContext): Promise<ExecutionResult> {
    if (ctx.signal.aborted) return Promise.resolve({ outcome: "canceled" });
    const dir = mkdtempSync(join(tmpdir(), "supervisor-wasm-"));
    const stdoutPath = join(dir, "stdout");
    const stderrPath = join(dir, "stderr");
    return new Promise<ExecutionResult>((resolve) => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { modulePath: spec.modulePath, args: [spec.modulePath, ...spec.args], env: spec.env, stdoutPath, stderrPath },
        stdout: true,
        stderr: true,
      });
      let result: ExecutionResult | undefined;
      const stop = (outcome: "timeout" | "canceled") => {
        result ??= { outcome, error: outcome === "timeout" ? "killed at the deadline" : "canceled" };
        void worker.terminate();
      };
      const onAbort = () => stop("canceled");
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const deadlineTimer = setTimeout(() => stop("timeout"), Math.max(0, ctx.deadline.getTime() - Date.now()));
      worker.on("message", (message: { exitCode?: number; error?: string }) => {
        if (result) return;
        if (message.error !== undefined) result = { outcome: "failed", error: `wasm ${spec.modulePath}: ${message.error}` };
        else result = message.exitCode === 0 ? { outcome: "succeeded", exitCode: 0 } : { outcome: "failed", exitCode: message.exitCode };
      });
      worker.on("error", (error) => (result ??= { outcome: "failed", error: `wasm ${spec.modulePath}: ${error.message}` }));
      worker.on("exit", () => {
        clearTimeout(deadlineTimer);
        ctx.signal.removeEventListener("abort", onAbort);
        for (const [stream, path] of [["stdout", stdoutPath], ["stderr", stderrPath]] as const) {
          try {
            const data = readFileSync(path);
            if (data.length > 0) ctx.onOutput(stream, data);
          } catch {
            // the module never got to open it
          }
        }
        rmSync(dir, { recursive: true, force: true });
        resolve(result ?? { outcome: "failed", error: "the wasm worker exited without a result" });
      });
    });
  },
};
