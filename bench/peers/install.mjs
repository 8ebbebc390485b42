// Installs bench/peers' own dependencies from its lock (npm ci) unless node_modules already matches it.
// Kept apart from the root workspaces on purpose: the root `npm ci` (and CI) never installs the peers.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const read = (file) => {
  try {
    return JSON.parse(readFileSync(join(dir, file), "utf8")).packages ?? {};
  } catch {
    return undefined;
  }
};

/** npm's hidden lockfile (node_modules/.package-lock.json) lists what is installed. */
function installedMatchesLock() {
  const locked = read("package-lock.json");
  const installed = read("node_modules/.package-lock.json");
  if (!locked || !installed) return false;
  for (const [path, entry] of Object.entries(locked)) {
    if (path === "") continue;
    const present = installed[path];
    if (present ? present.version !== entry.version : !entry.optional) return false;
  }
  return true;
}

if (!installedMatchesLock()) {
  console.log("bench/peers: installing its dependencies from package-lock.json (npm ci)");
  execFileSync("npm", ["ci", "--prefix", dir, "--no-audit", "--no-fund"], { stdio: "inherit" });
}
