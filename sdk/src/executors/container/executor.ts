import { randomUUID } from "node:crypto";
import type { ContainerExec } from "../../gen/supervisor/v1/task.js";
import { runInProcessGroup } from "../process-run.js";
import { type ExecutionContext, type ExecutionResult, type Executor, stopReasonNow } from "../types.js";
import { bwrapArgs } from "./bwrap.js";
import { checkEngineImage, engineRunArgs, removeContainer } from "./engine-cli.js";
import { DEFAULT_IMAGE_DIR, ImageError, rootFilesystemOf } from "./rootfs.js";
import type { ContainerRuntimeName } from "./runtime.js";

export interface ContainerExecutorOptions {
  /** Where .tar images are unpacked (bwrap). Default: DEFAULT_IMAGE_DIR. */
  imageDir?: string;
}

/** The runtime CLI itself needs a PATH to find its helpers (crun, conmon); the program inside gets only spec.env. */
const runtimeEnvironment = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
});

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Runs a container exec with `runtime` (found by detectContainerRuntime), as the runtime's CLI in
 * its own process group: the timeout, cancel, output and exit-code handling are the subprocess
 * executor's (runInProcessGroup). An image that is not there, or cannot be unpacked, fails the run
 * with a message saying so. Never rejects.
 */
export function createContainerExecutor(
  runtime: ContainerRuntimeName,
  options: ContainerExecutorOptions = {},
): Executor<ContainerExec> {
  const imageDir = options.imageDir ?? DEFAULT_IMAGE_DIR;
  return {
    async execute(spec: ContainerExec, ctx: ExecutionContext): Promise<ExecutionResult> {
      const early = stopReasonNow(ctx);
      if (early) return { outcome: early };
      try {
        if (runtime === "bwrap") {
          const args = await bwrapArgs(spec, await rootFilesystemOf(spec.image, imageDir));
          return await runInProcessGroup("bwrap", args, { env: runtimeEnvironment() }, ctx);
        }
        await checkEngineImage(runtime, spec.image);
        const name = `supervisor-${randomUUID()}`;
        const result = await runInProcessGroup(
          runtime,
          engineRunArgs(runtime, spec, name),
          { env: runtimeEnvironment() },
          ctx,
        );
        // A CLI killed by SIGKILL (after the grace period) cannot remove its container: do it for it.
        if (result.outcome === "timeout" || result.outcome === "canceled") await removeContainer(runtime, name);
        return result;
      } catch (error) {
        if (error instanceof ImageError) return { outcome: "failed", error: error.message };
        return { outcome: "failed", error: `${runtime}: ${messageOf(error)}` };
      }
    },
  };
}
