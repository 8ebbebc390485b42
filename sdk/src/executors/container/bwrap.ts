import { readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerExec } from "../../gen/supervisor/v1/task.js";

/** Mounted fresh in every sandbox, never taken from the image. */
const FRESH = new Set(["proc", "dev", "tmp"]);

/**
 * The image's top level, rebuilt on an empty tmpfs root: each directory and file bound read-only,
 * each symlink re-created. Binding the whole image as / would need /proc, /dev, /tmp and every
 * mount target to exist in it already (a read-only root cannot get new mount points, and Debian's
 * bwrap 0.8 has no overlay option); this way they are made on the tmpfs, which is then made
 * read-only too.
 */
async function imageTopLevel(root: string): Promise<string[]> {
  const args: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (FRESH.has(entry.name)) continue;
    const inside = `/${entry.name}`;
    const outside = join(root, entry.name);
    if (entry.isSymbolicLink()) args.push("--symlink", await readlink(outside), inside);
    else if (entry.isDirectory() || entry.isFile()) args.push("--ro-bind", outside, inside);
  }
  return args;
}

/**
 * The bwrap command line that runs `spec` over the root filesystem `root`: every namespace
 * unshared (the network too unless `spec.network`), killed with its parent, a fresh /proc, /dev
 * and writable /tmp, the image read-only as /, the mounts, exactly `spec.env` as the environment,
 * and `spec.working_dir` (default /) as the working directory. No --new-session: the sandbox stays
 * in the runner's process group for the run, so stopping the group stops it.
 */
export async function bwrapArgs(spec: ContainerExec, root: string): Promise<string[]> {
  const args = ["--unshare-all", ...(spec.network ? ["--share-net"] : []), "--die-with-parent", "--tmpfs", "/"];
  args.push(...(await imageTopLevel(root)));
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  for (const mount of spec.mounts) args.push(mount.readOnly ? "--ro-bind" : "--bind", mount.source, mount.target);
  args.push("--remount-ro", "/", "--clearenv");
  for (const [key, value] of Object.entries(spec.env)) args.push("--setenv", key, value);
  args.push("--chdir", spec.workingDir || "/", "--", spec.command, ...spec.args);
  return args;
}
