import type { Principal } from "../../auth.js";
import { roleMayCall } from "../../core/roles.js";
import { roleForbidden } from "../../errors.js";
import type { MetricSources } from "../../metrics/server-metrics.js";
import type { RecentActivity } from "./recent-activity.js";

export const OVERVIEW_PATH = "/dashboard/overview";

/** Whoever may list tasks may see how many there are. */
const LIST_TASKS = "supervisor.v1.TaskService/ListTasks";

/**
 * `GET /dashboard/overview`: tasks pending and running now — sizes the leader's engine keeps anyway
 * (the dispatch index, the run tracker), as the metrics' gauges read them — and the last hour from
 * RecentActivity. No read of the tasks table: the same cost with a million tasks. On a server that
 * does not lead, pending and running are the leader's to know: `leading: false` says so.
 */
export function overviewOf(principal: Principal, sources: MetricSources, activity: RecentActivity) {
  if (!roleMayCall(principal.role, LIST_TASKS)) throw roleForbidden(principal.role, LIST_TASKS);
  let pending = 0;
  for (const count of sources.pendingByReason().values()) pending += count;
  return { leading: sources.leading(), pending, running: sources.running(), ...activity.summary() };
}
