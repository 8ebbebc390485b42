import { RunnerState } from "@supervisor/sdk";
import type { RunnerWrite } from "./backend.js";

/**
 * runners.server_id for a runner write, the same on every backend: the holder the write names, or
 * else the writing server while the runner is live (CONNECTED or DRAINING: the server that writes a
 * live runner's row is the one holding its stream) and null once it is DISCONNECTED.
 */
export function runnerHolder(write: RunnerWrite, writingServerId: string): string | null {
  if (write.serverId !== undefined) return write.serverId;
  const state = write.runner.state;
  return state === RunnerState.RUNNER_STATE_CONNECTED || state === RunnerState.RUNNER_STATE_DRAINING
    ? writingServerId
    : null;
}
