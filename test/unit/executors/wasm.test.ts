import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionContext, OutputStreamName } from "../../../sdk/src/executors/types.js";
import { wasmExecutor } from "../../../sdk/src/executors/wasm.js";

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
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    expect(await wasmExecutor.execute(spec("forever"), recorder({ signal: controller.signal }).ctx)).toEqual({
      outcome: "canceled",
    });
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

  it("reports a file that is not a module as failed", async () => {
    const result = await wasmExecutor.execute(spec("garbage"), recorder().ctx);
    expect(result).toMatchObject({
      outcome: "failed",
      error: expect.stringMatching(/^compile .*garbage\.wasm: CompileError/),
    });
  });
});
