import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionContext, OutputStreamName } from "../../../sdk/src/executors/types.js";
import { createWasmExecutor, DEFAULT_MAX_MODULE_BYTES, wasmExecutor } from "../../../sdk/src/executors/wasm.js";

// Test modules, encoded by hand: they are tiny, and this needs no toolchain.
// Binary format: https://webassembly.github.io/spec/core/binary/

const unsigned = (n: number): number[] => {
  const bytes: number[] = [];
  do {
    const low = n & 0x7f;
    n >>>= 7;
    bytes.push(n === 0 ? low : low | 0x80);
  } while (n !== 0);
  return bytes;
};
// Signed LEB128 of a non-negative number: the top bit of the last byte must be clear.
const signed = (n: number): number[] => {
  const bytes: number[] = [];
  for (;;) {
    const low = n & 0x7f;
    n >>>= 7;
    if (n === 0 && (low & 0x40) === 0) return [...bytes, low];
    bytes.push(low | 0x80);
  }
};
const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()];
const name = (text: string): number[] => vector([...Buffer.from(text)].map((byte) => [byte]));
const section = (id: number, content: number[]): number[] => [id, ...unsigned(content.length), ...content];

const I32 = 0x7f;
const op = {
  i32Const: 0x41,
  call: 0x10,
  drop: 0x1a,
  loop: 0x03,
  br: 0x0c,
  end: 0x0b,
  unreachable: 0x00,
  emptyBlock: 0x40,
};

/** WASI imports the test modules may call, as function indices 0 and 1. */
const WASI_IMPORTS = [
  { name: "fd_write", params: [I32, I32, I32, I32], results: [I32] },
  { name: "proc_exit", params: [I32], results: [] },
];
const FD_WRITE = 0;
const PROC_EXIT = 1;

/** A module exporting one page of memory (preset with `memory`) and `_start` running `code`. */
function wasiModule(code: number[], memory: Buffer = Buffer.alloc(0)): Buffer {
  const types = [
    ...WASI_IMPORTS.map((f) => [0x60, ...vector(f.params.map((p) => [p])), ...vector(f.results.map((r) => [r]))]),
    [0x60, 0, 0],
  ];
  const imports = WASI_IMPORTS.map((f, index) => [...name("wasi_snapshot_preview1"), ...name(f.name), 0x00, index]);
  const body = [0 /* no locals */, ...code, op.end];
  return Buffer.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, vector(imports)),
    ...section(3, vector([[WASI_IMPORTS.length]])), // _start has the last type
    ...section(5, vector([[0x00, 1]])), // one page, no maximum
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("_start"), 0x00, WASI_IMPORTS.length],
      ]),
    ),
    ...section(10, vector([[...unsigned(body.length), ...body]])),
    ...section(11, vector([[0x00, op.i32Const, 0, op.end, ...vector([...memory].map((byte) => [byte]))]])),
  ]);
}

/** Writes each text to its fd with fd_write, then runs `then` (returning from _start = exit code 0). */
function writingModule(writes: { fd: number; text: string }[], then: number[] = []): Buffer {
  const textsAt = 64;
  const writtenAt = 56; // where fd_write stores the byte count
  const memory = Buffer.alloc(textsAt + writes.reduce((sum, write) => sum + Buffer.byteLength(write.text), 0));
  const code: number[] = [];
  let textAt = textsAt;
  writes.forEach((write, index) => {
    const length = memory.write(write.text, textAt);
    memory.writeUInt32LE(textAt, index * 8); // iovec: pointer, length
    memory.writeUInt32LE(length, index * 8 + 4);
    code.push(
      op.i32Const,
      ...signed(write.fd),
      op.i32Const,
      ...signed(index * 8),
      op.i32Const,
      1,
      op.i32Const,
      ...signed(writtenAt),
      op.call,
      FD_WRITE,
      op.drop,
    );
    textAt += length;
  });
  return wasiModule([...code, ...then], memory);
}

/** A module that only imports `module`.`field` (a function): it compiles, and fails to link. */
function importingModule(module: string, field: string): Buffer {
  return Buffer.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, 0, 0]])),
    ...section(2, vector([[...name(module), ...name(field), 0x00, 0]])),
  ]);
}

/** A module exporting its one function twice under `exportName`: it fails to compile. */
function duplicateExportModule(exportName: string): Buffer {
  const body = [0, op.end];
  return Buffer.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, 0, 0]])),
    ...section(3, vector([[0]])),
    ...section(
      7,
      vector([
        [...name(exportName), 0x00, 0],
        [...name(exportName), 0x00, 0],
      ]),
    ),
    ...section(10, vector([[...unsigned(body.length), ...body]])),
  ]);
}

const exitWith = (code: number) => [op.i32Const, ...signed(code), op.call, PROC_EXIT];
const loopForever = [op.loop, op.emptyBlock, op.br, 0, op.end];

function recorder(options: { deadlineInMs?: number; signal?: AbortSignal; onChunk?: () => void } = {}) {
  const chunks: { stream: OutputStreamName; text: string }[] = [];
  const ctx: ExecutionContext = {
    signal: options.signal ?? new AbortController().signal,
    deadline: new Date(Date.now() + (options.deadlineInMs ?? 30_000)),
    gracePeriodMs: 1_000,
    onOutput(stream, data) {
      chunks.push({ stream, text: data.toString() });
      options.onChunk?.();
    },
  };
  const text = (stream: OutputStreamName) =>
    chunks
      .filter((chunk) => chunk.stream === stream)
      .map((chunk) => chunk.text)
      .join("");
  return { ctx, text };
}

const captureDirs = () =>
  readdirSync(tmpdir())
    .filter((entry) => entry.startsWith("supervisor-wasm-"))
    .sort();
/** Descriptors of this process still open on a capture file (Linux; none elsewhere). */
const captureFds = () =>
  existsSync("/proc/self/fd")
    ? readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).includes("supervisor-wasm-");
        } catch {
          return false; // closed meanwhile (the one readdir itself used)
        }
      })
    : [];

describe("wasmExecutor", () => {
  let dir: string;
  const modules: Record<string, string> = {};
  const saveModule = (label: string, bytes: Buffer) => {
    modules[label] = join(dir, `${label}.wasm`);
    writeFileSync(modules[label], bytes);
  };
  const spec = (label: string, args: string[] = []) => ({
    modulePath: modules[label] ?? join(dir, `${label}.wasm`),
    args,
    env: {},
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "executor-wasm-"));
    saveModule(
      "hello",
      writingModule([
        { fd: 1, text: "hello from wasm\n" },
        { fd: 2, text: "to stderr\n" },
      ]),
    );
    saveModule("exit3", writingModule([], exitWith(3)));
    saveModule("forever", writingModule([], loopForever));
    saveModule("tick-then-forever", writingModule([{ fd: 1, text: "tick\n" }], loopForever));
    saveModule("trap", writingModule([], [op.unreachable]));
    saveModule("garbage", Buffer.from("not a wasm module"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs a module and forwards what it writes to stdout and stderr", async () => {
    const { ctx, text } = recorder();
    expect(await wasmExecutor.execute(spec("hello"), ctx)).toEqual({ outcome: "succeeded", exitCode: 0 });
    expect(text("stdout")).toBe("hello from wasm\n");
    expect(text("stderr")).toBe("to stderr\n");
  });

  it("reports proc_exit with a non-zero code as failed with that code", async () => {
    expect(await wasmExecutor.execute(spec("exit3"), recorder().ctx)).toEqual({ outcome: "failed", exitCode: 3 });
  });

  it("reports a trap as failed", async () => {
    const result = await wasmExecutor.execute(spec("trap"), recorder().ctx);
    expect(result).toMatchObject({ outcome: "failed", error: expect.stringContaining("unreachable") });
  });

  it("terminates a module still running at the deadline and reports timeout, leaving no files or descriptors", async () => {
    const dirsBefore = captureDirs();
    expect(await wasmExecutor.execute(spec("forever"), recorder({ deadlineInMs: 300 }).ctx)).toEqual({
      outcome: "timeout",
    });
    expect(captureDirs()).toEqual(dirsBefore);
    expect(captureFds()).toEqual([]);
  });

  it("terminates a module on cancel and reports canceled", async () => {
    // Canceled once the module shows it runs (its first line), then spins for ever.
    const controller = new AbortController();
    const { ctx } = recorder({ signal: controller.signal, onChunk: () => controller.abort() });
    expect(await wasmExecutor.execute(spec("tick-then-forever"), ctx)).toEqual({ outcome: "canceled" });
  });

  it("forwards output while the module is still running", async () => {
    // Canceled on the first chunk: output held back until the end would run into the deadline instead.
    const controller = new AbortController();
    const { ctx, text } = recorder({
      signal: controller.signal,
      deadlineInMs: 20_000,
      onChunk: () => controller.abort(),
    });
    expect(await wasmExecutor.execute(spec("tick-then-forever"), ctx)).toEqual({ outcome: "canceled" });
    expect(text("stdout")).toBe("tick\n");
  });

  it("reports a missing module file as failed", async () => {
    const result = await wasmExecutor.execute(spec("missing"), recorder().ctx);
    expect(result).toEqual({ outcome: "failed", error: `read ${spec("missing").modulePath}: ENOENT` });
  });

  it("reports a file that is not a module as failed, naming its path and size", async () => {
    const result = await wasmExecutor.execute(spec("garbage"), recorder().ctx);
    expect(result).toEqual({
      outcome: "failed",
      error: `compile ${spec("garbage").modulePath} (17 bytes): not a WebAssembly module (bad magic number)`,
    });
  });

  describe("what it reads", () => {
    const MiB = 1024 * 1024;
    // Generous: reading /dev/zero used to take the runner to gigabytes. A memory bound, not a timing.
    const RSS_GROWTH_BOUND = 200 * MiB;

    it("refuses /dev/zero at once and keeps the runner's memory bounded", async () => {
      const rssBefore = process.memoryUsage().rss;
      const result = await wasmExecutor.execute({ modulePath: "/dev/zero", args: [], env: {} }, recorder().ctx);
      expect(result).toEqual({ outcome: "failed", error: "read /dev/zero: a character device, not a regular file" });
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
    });

    it("refuses a directory", async () => {
      const path = join(dir, "a-directory.wasm");
      mkdirSync(path);
      expect(await wasmExecutor.execute({ modulePath: path, args: [], env: {} }, recorder().ctx)).toEqual({
        outcome: "failed",
        error: `read ${path}: a directory, not a regular file`,
      });
    });

    it("refuses a FIFO without waiting for a writer", async () => {
      // Opening a FIFO to read blocks until someone opens it to write: nobody will here.
      const path = join(dir, "a-fifo.wasm");
      execFileSync("mkfifo", [path]);
      expect(await wasmExecutor.execute({ modulePath: path, args: [], env: {} }, recorder().ctx)).toEqual({
        outcome: "failed",
        error: `read ${path}: a FIFO (named pipe), not a regular file`,
      });
    });

    it("refuses a socket", async () => {
      const path = join(dir, "a-socket.wasm");
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(path, resolve));
      try {
        expect(await wasmExecutor.execute({ modulePath: path, args: [], env: {} }, recorder().ctx)).toEqual({
          outcome: "failed",
          error: `read ${path}: a socket, not a regular file`,
        });
      } finally {
        server.close();
      }
    });

    it("refuses a file over the limit without reading it, giving its size and the limit", async () => {
      // Sparse: it costs no disk, but reading it would cost the runner more memory than the bound.
      const limit = 1024 * MiB;
      const path = join(dir, "huge.wasm");
      writeFileSync(path, "");
      truncateSync(path, limit + 1);
      const rssBefore = process.memoryUsage().rss;
      const result = await createWasmExecutor({ maxModuleBytes: limit }).execute(
        { modulePath: path, args: [], env: {} },
        recorder().ctx,
      );
      expect(result).toEqual({
        outcome: "failed",
        error: `read ${path}: ${limit + 1} bytes, over the ${limit}-byte limit for a module (maxModuleBytes)`,
      });
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
    });

    it("runs a module exactly at the limit and refuses one byte over it", async () => {
      const size = writingModule([
        { fd: 1, text: "hello from wasm\n" },
        { fd: 2, text: "to stderr\n" },
      ]).length;
      const atLimit = createWasmExecutor({ maxModuleBytes: size });
      expect(await atLimit.execute(spec("hello"), recorder().ctx)).toEqual({ outcome: "succeeded", exitCode: 0 });
      const belowIt = createWasmExecutor({ maxModuleBytes: size - 1 });
      expect(await belowIt.execute(spec("hello"), recorder().ctx)).toMatchObject({
        outcome: "failed",
        error: expect.stringContaining(`${size} bytes, over the ${size - 1}-byte limit`),
      });
    });

    it("has a 64 MiB limit by default and refuses a limit that is not a whole positive number", () => {
      expect(DEFAULT_MAX_MODULE_BYTES).toBe(64 * MiB);
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        expect(() => createWasmExecutor({ maxModuleBytes: bad })).toThrow(/maxModuleBytes must be a whole number/);
      }
    });
  });

  describe("errors never repeat the file's bytes", () => {
    const SECRET = "SECRET-d41d8cd9-hunter2";
    const hexOf = (text: string) => [...Buffer.from(text.slice(0, 4))].map((b) => b.toString(16)).join(" ");
    const expectNoSecret = (error: string | undefined) => {
      expect(error).toBeDefined();
      expect(error).not.toContain(SECRET);
      expect(error).not.toContain("hunter2");
      expect(error).not.toContain(hexOf(SECRET)); // the engine shows a bad header as hex
    };

    it("a file that starts with a secret: the error names path, size and the problem", async () => {
      saveModule("secret", Buffer.from(`${SECRET}\npassword=hunter2\n`));
      const result = await wasmExecutor.execute(spec("secret"), recorder().ctx);
      expect(result).toEqual({
        outcome: "failed",
        error: `compile ${spec("secret").modulePath} (41 bytes): not a WebAssembly module (bad magic number)`,
      });
      expectNoSecret(result.error);
    });

    it("a module that fails to compile on a name of its own (a duplicate export)", async () => {
      saveModule("duplicate-export", duplicateExportModule(SECRET));
      const result = await wasmExecutor.execute(spec("duplicate-export"), recorder().ctx);
      expect(result).toMatchObject({
        outcome: "failed",
        error: expect.stringMatching(/: not a valid WebAssembly module \(it fails to compile at byte \d+\)$/),
      });
      expectNoSecret(result.error);
    });

    it("a module that imports what no runner provides (a module and a function named by it)", async () => {
      saveModule("import-module", importingModule(SECRET, "f"));
      saveModule("import-function", importingModule("wasi_snapshot_preview1", SECRET));
      for (const label of ["import-module", "import-function"]) {
        const result = await wasmExecutor.execute(spec(label), recorder().ctx);
        expect(result).toMatchObject({
          outcome: "failed",
          error: expect.stringContaining("the module imports something this runner does not provide"),
        });
        expectNoSecret(result.error);
      }
    });
  });
});
