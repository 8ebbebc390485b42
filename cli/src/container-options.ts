import type { Mount } from "@supervisor/sdk";
import { type Command, InvalidArgumentError } from "commander";
import { usageError } from "./command-line.js";

/* `submit --container IMAGE [--mount src:dst[:ro]]... [--network]`: the task runs in a container. */

export interface ContainerFlags {
  container?: string;
  mount?: Mount[];
  network?: boolean;
}

/** `--mount /host/path:/inside[:ro|:rw]` (repeatable) into Mounts. */
export function collectMount(value: string, previous: Mount[] = []): Mount[] {
  const [source = "", target = "", mode, ...rest] = value.split(":");
  if (!source || !target || rest.length > 0 || (mode !== undefined && mode !== "ro" && mode !== "rw"))
    throw new InvalidArgumentError("Expected source:target or source:target:ro (absolute paths).");
  return [...previous, { source, target, readOnly: mode === "ro" }];
}

export function addContainerOptions(command: Command): Command {
  return command
    .option("--container <image>", "run in this container image (a runner's image, or a root filesystem path)")
    .option("--mount <src:dst[:ro]>", "with --container: a runner path visible inside (repeatable)", collectMount)
    .option("--network", "with --container: give it the runner's network (default: none)");
}

/** --mount and --network describe a container: without --container they are a mistake. */
export function checkContainerFlags(command: Command, options: ContainerFlags): void {
  if (options.container) return;
  if (options.mount?.length) usageError(command, "--mount applies to a container: give --container IMAGE");
  if (options.network) usageError(command, "--network applies to a container: give --container IMAGE");
}
