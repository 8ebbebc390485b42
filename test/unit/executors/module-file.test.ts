import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModuleFileError, readExactly } from "../../../sdk/src/executors/module-file.js";
import { type ExecutionContext, stopSignalOf } from "../../../sdk/src/executors/types.js";

// A regular file cannot be made slow on purpose here; a FIFO whose writer stalls can. readExactly is
// what the wasm executor reads a module with, once it has checked that the path is a regular file.

const context = (options: { signal?: AbortSignal; deadlineInMs?: number }): ExecutionContext => ({
  signal: options.signal ?? new AbortController().signal,
  deadline: new Date(Date.now() + (options.deadlineInMs ?? 30_000)),
  gracePeriodMs: 1_000,
  onOutput() {},
});

describe("readExactly", () => {
  let dir: string;
  let fifo: string;
  let writer: ChildProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "module-file-"));
    fifo = join(dir, "slow-source");
    execFileSync("mkfifo", [fifo]);
  });
  afterEach(() => {
    writer?.kill("SIGKILL");
    writer = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the FIFO for reading, held open by a writer that never writes: every read waits. */
  async function stalledSource() {
    writer = spawn("sh", ["-c", 'exec sleep 300 > "$1"', "sh", fifo], { stdio: "ignore" });
    return open(fifo, "r"); // completes once the writer has opened its end
  }

  it("stops at once on cancel while a read waits in the kernel for bytes that never come", async () => {
    const handle = await stalledSource();
    try {
      const controller = new AbortController();
      const stop = stopSignalOf(context({ signal: controller.signal }));
      const reading = readExactly(handle, 1024 * 1024, stop.signal);
      controller.abort(); // the first read has been issued: only giving up on it can end this
      await expect(reading).rejects.toBe("canceled");
      stop.unwatch();
    } finally {
      writer?.kill("SIGKILL"); // ends the read still pending, so that the handle can close
      await handle.close();
    }
  });

  it("stops at the deadline while a read waits in the kernel", async () => {
    const handle = await stalledSource();
    try {
      const stop = stopSignalOf(context({ deadlineInMs: 300 }));
      await expect(readExactly(handle, 1024 * 1024, stop.signal)).rejects.toBe("timeout");
      stop.unwatch();
    } finally {
      writer?.kill("SIGKILL");
      await handle.close();
    }
  });

  it("reports a source that ends before the expected length, without its bytes", async () => {
    writer = spawn("sh", ["-c", 'printf "SECRET" > "$1"', "sh", fifo], { stdio: "ignore" });
    const handle = await open(fifo, "r");
    try {
      const reading = readExactly(handle, 100, new AbortController().signal);
      await expect(reading).rejects.toThrow(ModuleFileError);
      await expect(reading).rejects.toThrow(/^ended after 6 of 100 bytes \(shrank while read\)$/);
    } finally {
      await handle.close();
    }
  });
});
