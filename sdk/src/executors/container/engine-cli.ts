import { isAbsolute } from "node:path";
import type { ContainerExec } from "../../gen/supervisor/v1/task.js";
import { tryCommand } from "./probe.js";
import { ImageError } from "./rootfs.js";

export type EngineName = "podman" | "docker";

/**
 * Whether the engine has the image locally. podman also takes a root filesystem directory
 * (an absolute path, run with --rootfs), like bwrap.
 */
export async function checkEngineImage(engine: EngineName, image: string): Promise<void> {
  const found =
    engine === "podman" && isAbsolute(image)
      ? await tryCommand("test", ["-d", image])
      : await tryCommand(engine, engine === "podman" ? ["image", "exists", image] : ["image", "inspect", image]);
  if (!found.ok) throw new ImageError(`image "${image}" not found on this runner (${engine})`);
}

/**
 * `<engine> run` for `spec`, under a name of our own so that what a killed CLI leaves behind can be
 * removed: --rm, never a pull, no network unless asked (then the runner's own), the env, working
 * directory and mounts of the spec. The CLI passes signals on to the container (--sig-proxy,
 * their default), so stopping the process group stops the container.
 */
export function engineRunArgs(engine: EngineName, spec: ContainerExec, name: string): string[] {
  const args = ["run", "--rm", "--name", name, "--pull", "never", "--network", spec.network ? "host" : "none"];
  for (const [key, value] of Object.entries(spec.env)) args.push("--env", `${key}=${value}`);
  if (spec.workingDir) args.push("--workdir", spec.workingDir);
  for (const mount of spec.mounts)
    args.push("--volume", `${mount.source}:${mount.target}${mount.readOnly ? ":ro" : ""}`);
  if (engine === "podman" && isAbsolute(spec.image)) args.push("--rootfs", spec.image);
  else args.push(spec.image);
  args.push(spec.command, ...spec.args);
  return args;
}

/** Removes the named container if it is still there (its CLI was killed before it could). */
export async function removeContainer(engine: EngineName, name: string): Promise<void> {
  await tryCommand(engine, ["rm", "--force", name]);
}
