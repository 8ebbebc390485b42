/*
 * What went wrong with a module, in words that never quote it. The engine's
 * own messages do: a bad header is shown as hex ("found 53 45 43 52"), a link
 * error names the missing import, a duplicate export its name — and a module
 * path may point at a file that holds secrets, not a module.
 */

const MAGIC = [0x00, 0x61, 0x73, 0x6d]; // "\0asm"
const VERSION_1 = [0x01, 0x00, 0x00, 0x00];

const hasAt = (bytes: Uint8Array, expected: number[], offset: number) =>
  expected.every((byte, index) => bytes[offset + index] === byte);

/** Why bytes that WebAssembly.compile refused are not a module. */
export function compileProblem(bytes: Uint8Array, error: unknown): string {
  if (bytes.length === 0) return "an empty file, not a WebAssembly module";
  if (!hasAt(bytes, MAGIC, 0)) return "not a WebAssembly module (bad magic number)";
  if (!hasAt(bytes, VERSION_1, MAGIC.length)) return "not a WebAssembly 1.0 module (unsupported version)";
  // V8 ends its message with the offset it stopped at ("… @+123"): a number, safe to repeat.
  const offset = /@\+(\d+)\s*$/.exec(error instanceof Error ? error.message : "")?.[1];
  return `not a valid WebAssembly module (it fails to compile${offset ? ` at byte ${offset}` : ""})`;
}

/** An error thrown in the worker while instantiating or running, as it was posted from there. */
export interface WorkerError {
  stage: "instantiate" | "run";
  name: string;
  message: string;
}

// Errors whose texts come from the engine or node:wasi, never from the module: traps, an exhausted
// stack or memory, a missing _start or memory export. While instantiating, a TypeError or LinkError
// names the import that is missing, so those are said in words of our own.
const ENGINE_TEXTS: Record<WorkerError["stage"], Set<string>> = {
  instantiate: new Set(["RuntimeError", "RangeError"]),
  run: new Set(["RuntimeError", "RangeError", "TypeError"]),
};

/** What to report for an error thrown in the worker. */
export function runProblem(error: WorkerError): string {
  if (ENGINE_TEXTS[error.stage]?.has(error.name)) return `${error.name}: ${error.message}`;
  if (error.stage === "instantiate" && (error.name === "LinkError" || error.name === "TypeError")) {
    return `${error.name}: the module imports something this runner does not provide (only wasi_snapshot_preview1)`;
  }
  return `${error.name || "an error"} while the module ${error.stage === "run" ? "ran" : "was instantiated"}`;
}
