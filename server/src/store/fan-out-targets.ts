import { RunnerState, type TaskSpec } from "@supervisor/sdk";
import { fanOutTarget, isFanOut } from "../core/fan-out.js";
import type { StorageBackend } from "./backend.js";

/** Runner records read per page. */
const PAGE = 500;

/**
 * The runners a fan-out submit makes children for: every runner whose record says CONNECTED (not
 * draining, not disconnected) and whose labels and kinds fit the spec, by id. Read from the runners
 * table, not from this server's memory: with several servers a follower serves only its own runners,
 * while the table has every server's. Empty for a spec that does not fan out.
 */
export async function fanOutTargets(backend: StorageBackend, spec: TaskSpec): Promise<string[]> {
  if (!isFanOut(spec)) return [];
  const ids: string[] = [];
  for (let after = ""; ; ) {
    const page = await backend.listRunners(after, PAGE);
    for (const { runner } of page) {
      if (runner.state === RunnerState.RUNNER_STATE_CONNECTED && fanOutTarget(spec, runner)) ids.push(runner.id);
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.runner.name;
  }
  return ids.sort();
}
