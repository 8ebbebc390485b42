import { constants, type Stats } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { untilAborted } from "./types.js";

/** Modules larger than this are refused unless the executor is given another limit. */
export const DEFAULT_MAX_MODULE_BYTES = 64 * 1024 * 1024;

/** Read in pieces so that a stop is noticed between them, not only at the end of a huge file. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Why a module file cannot be used. The message never quotes the file's content. */
export class ModuleFileError extends Error {
  override name = "ModuleFileError";
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  return "not a regular file";
}

/** Throws unless `stats` is a regular file of at most `maxBytes`. */
function checkUsable(stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) {
    const kind = kindOf(stats);
    throw new ModuleFileError(kind.startsWith("a ") ? `${kind}, not a regular file` : kind);
  }
  if (stats.size > maxBytes) {
    throw new ModuleFileError(`${stats.size} bytes, over the ${maxBytes}-byte limit for a module (maxModuleBytes)`);
  }
}

/**
 * Reads exactly `length` bytes from the handle's current position, in chunks.
 * Rejects with the signal's reason as soon as it aborts, even while a read is
 * still waiting in the kernel (that read is left to finish; closing the handle
 * waits for it). A source that ends early is a ModuleFileError.
 */
export async function readExactly(handle: FileHandle, length: number, signal: AbortSignal): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    signal.throwIfAborted();
    const want = Math.min(READ_CHUNK_BYTES, length - filled);
    const { bytesRead } = await untilAborted(handle.read(bytes, filled, want, null), signal);
    if (bytesRead === 0) throw new ModuleFileError(`ended after ${filled} of ${length} bytes (shrank while read)`);
    filled += bytesRead;
  }
  return bytes;
}

/**
 * The bytes of a module file, read only if it is a regular file of at most
 * `maxBytes`. The path is looked at before it is opened: opening a device can
 * have effects of its own, and opening a FIFO waits for a writer. What was
 * opened is checked again (the path may have changed in between), and the
 * open never blocks (O_NONBLOCK). Rejects with the signal's reason once it
 * aborts; other errors are a ModuleFileError or the file system's (with a code).
 */
export async function readModuleFile(
  path: string,
  { maxBytes, signal }: { maxBytes: number; signal: AbortSignal },
): Promise<Buffer> {
  checkUsable(await untilAborted(stat(path), signal), maxBytes);
  const opening = open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let handle: FileHandle;
  try {
    handle = await untilAborted(opening, signal);
  } catch (error) {
    opening.then((late) => late.close()).catch(() => {}); // opened after the stop: nobody else will close it
    throw error;
  }
  try {
    const opened = await untilAborted(handle.stat(), signal);
    checkUsable(opened, maxBytes);
    return await readExactly(handle, opened.size, signal);
  } finally {
    // Not awaited: after a stop, a read may still be pending, and close waits for it.
    handle.close().catch(() => {});
  }
}
