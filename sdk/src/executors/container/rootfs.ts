import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";

/** Where unpacked .tar images are kept when the runner is not told (RunnerOptions.container.imageDir). */
export const DEFAULT_IMAGE_DIR = join(tmpdir(), "supervisor-images");

/** Why an image cannot be used; the run fails with this message. */
export class ImageError extends Error {
  override name = "ImageError";
}

/** Unpacks started by this process, by cache directory: concurrent runs of one image wait for one unpack. */
const unpacking = new Map<string, Promise<string>>();

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * GNU tar, not an npm library: a root filesystem needs what JavaScript tar readers skip or
 * refuse (device nodes, owners, absolute symlinks such as /bin/sh -> /bin/busybox).
 */
function untar(file: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("tar", ["-x", "-f", file, "-C", into], { maxBuffer: 1 << 20 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const why = stderr.trim().split("\n").pop() ?? error.message;
      reject(new ImageError(`cannot unpack image ${file}: ${why}`));
    });
  });
}

/**
 * The unpacked copy of a .tar image, made once per version of the file: the cache directory is
 * named by the tar's path, mtime and size, so a changed tar is unpacked again and an unchanged one
 * reused (by this process and by the next). It is unpacked next to its final place and renamed,
 * so a half-unpacked tree is never used.
 */
async function unpacked(file: string, size: number, mtimeMs: number, imageDir: string): Promise<string> {
  const key = createHash("sha256").update(`${file}\0${mtimeMs}\0${size}`).digest("hex").slice(0, 32);
  const root = join(imageDir, key);
  const running = unpacking.get(root);
  if (running) return running;
  const work = (async () => {
    if (await exists(root)) return root;
    await mkdir(imageDir, { recursive: true, mode: 0o700 });
    const partial = join(imageDir, `.partial-${key}-${randomUUID()}`);
    await mkdir(partial);
    try {
      await untar(file, partial);
      await rename(partial, root).catch(async (error: NodeJS.ErrnoException) => {
        // Another runner process got there first: its copy is the same tar's.
        if (!(await exists(root))) throw error;
      });
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
    return root;
  })();
  unpacking.set(root, work);
  try {
    return await work;
  } finally {
    unpacking.delete(root);
  }
}

/**
 * The root filesystem directory of a bwrap image: the image itself when it is a directory, the
 * unpacked copy when it is a .tar. Throws an ImageError when it is neither, or not there.
 */
export async function rootFilesystemOf(image: string, imageDir = DEFAULT_IMAGE_DIR): Promise<string> {
  if (!isAbsolute(image))
    throw new ImageError(`image "${image}" not found on this runner (bwrap takes an absolute path)`);
  const info = await stat(image).catch(() => undefined);
  if (!info) throw new ImageError(`image "${image}" not found on this runner`);
  if (info.isDirectory()) return image;
  if (info.isFile() && image.endsWith(".tar")) return unpacked(image, info.size, info.mtimeMs, imageDir);
  throw new ImageError(`image "${image}" is neither a root filesystem directory nor a .tar of one`);
}
