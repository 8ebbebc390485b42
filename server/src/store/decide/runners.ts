import { type RunnerInfo as Runner, RunnerState } from "@supervisor/sdk";
import { runnerNameInUse } from "../../errors.js";
import type { WriteView } from "./view.js";

/**
 * Stores a runner's record (connect, drain, disconnect); `serverId` is the server holding it (the
 * backend's default when left out: this server while connected, nobody once disconnected).
 */
export function decidePutRunner(view: WriteView, runner: Runner, serverId?: string | null): Runner {
  view.putRunner(runner, serverId);
  return runner;
}

/**
 * DrainRunner / UndrainRunner of a live runner, decided over its stored record (several servers): its
 * state becomes DRAINING (or CONNECTED) and its holder is kept; the server holding its stream applies the
 * change when it sees the record. Nothing is written when the record is no longer the connection `seen`
 * (it connected again since), or it disconnected: the result is then undefined.
 */
export function decideSetDraining(view: WriteView, seen: Runner, draining: boolean): Runner | undefined {
  const stored = view.runnerByName(seen.name);
  if (!stored || claimedSince(seen, stored) || stored.state === RunnerState.RUNNER_STATE_DISCONNECTED) return undefined;
  const state = draining ? RunnerState.RUNNER_STATE_DRAINING : RunnerState.RUNNER_STATE_CONNECTED;
  if (stored.state === state) return stored;
  const runner = { ...stored, state };
  view.putRunner(runner, view.runnerServer(seen.name) ?? null);
  return runner;
}

/** Forgets a runner's record. */
export function decideDeleteRunner(view: WriteView, runner: Runner): void {
  view.deleteRunner(runner);
}

/**
 * A hello takes the runner's name in the database (several servers share it): refused while the stored
 * record says another process holds the name on another live server; taken over when it is the same
 * process (a reconnect that landed elsewhere), its server is dead, or it disconnected.
 */
export function decideTakeName(
  view: WriteView,
  runner: Runner,
  serverId: string,
  liveServers: ReadonlySet<string>,
): Runner {
  const stored = view.runnerByName(runner.name);
  if (stored) {
    const holder = view.runnerServer(runner.name);
    const heldElsewhere =
      !!holder &&
      holder !== serverId &&
      liveServers.has(holder) &&
      stored.state !== RunnerState.RUNNER_STATE_DISCONNECTED;
    const sameProcess = runner.instanceId !== "" && runner.instanceId === stored.instanceId;
    if ((heldElsewhere && !sameProcess) || stored.id !== runner.id) {
      throw runnerNameInUse(runner.name, heldElsewhere ? `server ${holder}` : undefined);
    }
  }
  view.putRunner(runner);
  return runner;
}

/**
 * Whether another connection of the runner took its record since `seen` was read: every hello writes
 * its process and a new connect time. A record that is gone was taken by nobody.
 */
export const claimedSince = (seen: Runner, stored: Runner | undefined): boolean =>
  stored !== undefined &&
  (stored.instanceId !== seen.instanceId || stored.connectTime?.getTime() !== seen.connectTime?.getTime());
