import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/** Debian's busybox-static: one static binary, so a directory holding it is a whole root filesystem. */
export const BUSYBOX = "/bin/busybox";

/** Whether bubblewrap can run here at all (installed by .ci/run; the container tests need it). */
export const hasBwrap = spawnSync("bwrap", ["--version"]).status === 0;

/**
 * A tiny container image in `dir`: `rootfs/` with /bin/busybox and a relative symlink per applet
 * (/bin/sh, /bin/sleep, …; `busybox --install -s` would make them point at the host's path), and
 * `rootfs.tar`, the same tree as a tar. Returns both paths.
 */
export function buildBusyboxImage(dir: string): { rootfs: string; tar: string } {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const applet of applets) if (applet !== "busybox") symlinkSync("busybox", join(rootfs, "bin", applet));
  mkdirSync(join(rootfs, "etc"));
  const tar = join(dir, "rootfs.tar");
  execFileSync("tar", ["-c", "-f", tar, "-C", rootfs, "."]);
  return { rootfs, tar };
}
