import { Task, TaskPhase } from "@supervisor/sdk";
import type { CompiledFilter } from "../core/task-filter.js";
import { isActive } from "../core/task-lifecycle.js";
import type { StorageBackend } from "./backend.js";
import type { GroupCommit } from "./group-commit.js";
import { listParams } from "./list-params.js";
import { cancelIfActiveWrite } from "./writes.js";

/** Tasks listed, and then canceled, per round: one list page, and one group commit's worth of cancels. */
const PAGE_SIZE = 1000;
/** The ids an answer carries, for display: enough to see what was hit, bounded whatever the count. */
export const MAX_LISTED_IDS = 1000;

export interface CancelMatchingResult {
  matched: number;
  canceled: number;
  taskIds: string[];
}

const ACTIVE_PHASES = [TaskPhase.TASK_PHASE_PENDING, TaskPhase.TASK_PHASE_RUNNING];

/** The filter narrowed to active tasks: ended ones are never affected nor counted. */
function activeOnly(filter: CompiledFilter): CompiledFilter | undefined {
  const phases = filter.phases ? filter.phases.filter(isActive) : ACTIVE_PHASES;
  return phases.length > 0 ? { ...filter, phases } : undefined;
}

/**
 * CancelTasks: walks the active tasks matching `filter` newest first, a keyset page at a time (the cursor is
 * the id, so cancels made behind it do not move it), and cancels each page in one go: one request per task,
 * queued together so they share group commits. Each is the CancelTask decision, so a running task gets its
 * cancel sent to its runner when the commit is published; a task that ended since it was listed is skipped.
 * `dryRun` only counts. Stops between pages when `signal` aborts (what was canceled stays canceled).
 */
export async function cancelMatching(
  backend: StorageBackend,
  commits: GroupCommit,
  filter: CompiledFilter,
  options: { reason: string; dryRun: boolean; signal: AbortSignal },
): Promise<CancelMatchingResult> {
  const result: CancelMatchingResult = { matched: 0, canceled: 0, taskIds: [] };
  const active = activeOnly(filter);
  if (!active) return result;
  const note = (ids: readonly string[]) => result.taskIds.push(...ids.slice(0, MAX_LISTED_IDS - result.taskIds.length));
  let beforeId: string | undefined;
  do {
    options.signal.throwIfAborted();
    const page = await backend.listTasks(listParams(active, beforeId, PAGE_SIZE));
    const ids = page.items.map((item) => Task.decode(item.encoded).id);
    result.matched += ids.length;
    if (options.dryRun) note(ids);
    else {
      const done = await Promise.all(ids.map((id) => commits.run(cancelIfActiveWrite(id, options.reason))));
      const canceled = ids.filter((_, i) => done[i]);
      result.canceled += canceled.length;
      note(canceled);
    }
    beforeId = page.nextBeforeId;
  } while (beforeId);
  return result;
}
