// Finds a server binary, or installs its Debian package when this process may (root, apt-get present).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const isRoot = () => process.getuid?.() === 0;

const hasApt = () => spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;

/**
 * Returns the path of `binary` (the first of `candidates` that exists), installing `debianPackage` with
 * apt-get first when none does. Throws with the exact command to run when it may not install it itself.
 */
export function ensureBinary({ candidates, debianPackage, what }) {
  const found = () => candidates.find((path) => existsSync(path));
  if (found()) return found();
  const command = `apt-get install -y ${debianPackage}`;
  if (!isRoot() || !hasApt()) {
    throw new Error(`${what} is not installed (looked for ${candidates.join(", ")}); install it: sudo ${command}`);
  }
  console.log(`peers: ${what} is missing; running: ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => spawnSync("apt-get", ["install", "-y", debianPackage], { stdio: "inherit", env }).status;
  if (install() !== 0) {
    // A fresh machine may have no package lists yet.
    execFileSync("apt-get", ["update"], { stdio: "inherit", env });
    if (install() !== 0) throw new Error(`${command} failed`);
  }
  if (!found()) throw new Error(`${command} succeeded but ${candidates.join(" / ")} is still missing`);
  return found();
}
