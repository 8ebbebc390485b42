import { tryCommand } from "./probe.js";

/** A container runtime the container executor can drive. */
export type ContainerRuntimeName = "podman" | "docker" | "bwrap";

/** Which runtime a runner uses: one by name, the first that works ("auto"), or none. */
export type ContainerRuntimeChoice = ContainerRuntimeName | "auto" | "none";

/** Tried in this order by "auto": the real container engines first, bubblewrap as the fallback. */
export const RUNTIME_ORDER: readonly ContainerRuntimeName[] = ["podman", "docker", "bwrap"];

export type RuntimeDetection = { runtime: ContainerRuntimeName } | { runtime: undefined; reason: string };

/**
 * A trivial run with each runtime, the way a task would use it: being installed proves nothing
 * (podman installs here and every `podman run` fails). podman runs the host's /bin/true as its
 * root filesystem, so no image is needed; docker has no such option and runs `true` in the first
 * image it has (no image at all: it could run no task either); bwrap unshares everything over the
 * host's / read-only.
 */
const PROBES: Record<ContainerRuntimeName, () => Promise<{ ok: true } | { ok: false; reason: string }>> = {
  podman: () => tryCommand("podman", ["run", "--rm", "--network", "none", "--rootfs", "/", "/bin/true"]),
  docker: async () => {
    const images = await tryCommand("docker", ["images", "--quiet"]);
    if (!images.ok) return images;
    const first = images.stdout.split("\n")[0]?.trim();
    if (!first) return { ok: false, reason: "no local image to run (none can be pulled)" };
    return tryCommand("docker", ["run", "--rm", "--network", "none", "--pull", "never", first, "true"]);
  },
  bwrap: () =>
    tryCommand("bwrap", [
      "--unshare-all",
      "--die-with-parent",
      "--ro-bind",
      "/",
      "/",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--tmpfs",
      "/tmp",
      "--",
      "/bin/true",
    ]),
};

/**
 * The runtime to use, found by trying: the named one (refused if its try fails), or with "auto"
 * the first of RUNTIME_ORDER whose try succeeds. The reason says why each one tried was not used.
 */
export async function detectContainerRuntime(choice: ContainerRuntimeChoice = "auto"): Promise<RuntimeDetection> {
  if (choice === "none") return { runtime: undefined, reason: "disabled by configuration (runtime none)" };
  const candidates = choice === "auto" ? RUNTIME_ORDER : [choice];
  const reasons: string[] = [];
  for (const name of candidates) {
    const probe = await PROBES[name]();
    if (probe.ok) return { runtime: name };
    reasons.push(`${name}: ${probe.reason}`);
  }
  return { runtime: undefined, reason: reasons.join("; ") };
}
