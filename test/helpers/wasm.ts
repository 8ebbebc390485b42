import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Minimal WebAssembly binary writer for the two WASI test modules we need (no toolchain required). */
const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
const leb = (value: number): number[] => {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
};
const name = (text: string) => [...leb(text.length), ...Buffer.from(text)];
const vector = (items: number[][]) => [...leb(items.length), ...items.flat()];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const I32 = 0x7f;

/** A WASI module that writes `text` to stdout (fd 1) and exits with `exitCode`. */
export function printingModule(text: string, exitCode: number): Buffer {
  const data = Buffer.from(text);
  if (data.length >= 64 || exitCode >= 64) throw new Error("kept small: single-byte LEB constants");
  const i32const = (v: number) => [0x41, v];
  const body = [
    0x00, // no locals
    ...i32const(0),
    ...i32const(16),
    0x36,
    0x02,
    0x00, // iovec.buf = 16
    ...i32const(4),
    ...i32const(data.length),
    0x36,
    0x02,
    0x00, // iovec.len
    ...i32const(1),
    ...i32const(0),
    ...i32const(1),
    ...i32const(8),
    0x10,
    0x00,
    0x1a, // drop(fd_write(1, iov, 1, &written))
    ...i32const(exitCode),
    0x10,
    0x01, // proc_exit(code)
    0x0b,
  ];
  return Buffer.from([
    ...HEADER,
    ...section(
      1,
      vector([
        [0x60, 4, I32, I32, I32, I32, 1, I32],
        [0x60, 1, I32, 0],
        [0x60, 0, 0],
      ]),
    ),
    ...section(
      2,
      vector([
        [...name("wasi_snapshot_preview1"), ...name("fd_write"), 0x00, 0],
        [...name("wasi_snapshot_preview1"), ...name("proc_exit"), 0x00, 1],
      ]),
    ),
    ...section(3, vector([[2]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("_start"), 0x00, 2],
      ]),
    ),
    ...section(10, vector([[...leb(body.length), ...body]])),
    ...section(11, vector([[0x00, 0x41, 16, 0x0b, ...leb(data.length), ...data]])),
  ]);
}

/** A WASI module whose _start never returns. */
export function spinningModule(): Buffer {
  const body = [0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b];
  return Buffer.from([
    ...HEADER,
    ...section(1, vector([[0x60, 0, 0]])),
    ...section(3, vector([[0]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("_start"), 0x00, 0],
      ]),
    ),
    ...section(10, vector([[...leb(body.length), ...body]])),
  ]);
}

export function writeModule(dir: string, file: string, bytes: Buffer): string {
  const path = join(dir, file);
  writeFileSync(path, bytes);
  return path;
}
