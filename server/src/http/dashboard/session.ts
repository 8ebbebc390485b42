import type { Principal } from "../../auth.js";
import { roleMayCall } from "../../core/roles.js";

/** The dashboard asks here who its token is, to show only the buttons the role may press. Not an RPC: no data. */
export const SESSION_PATH = "/dashboard/session";

/** The writes the dashboard offers, by full method name: `may` says which the caller's role may call. */
const DASHBOARD_WRITES = [
  "supervisor.v1.TaskService/CancelTask",
  "supervisor.v1.TaskService/RerunTask",
  "supervisor.v1.RunnerService/DrainRunner",
  "supervisor.v1.RunnerService/UndrainRunner",
  "supervisor.v1.ScheduleService/PauseSchedule",
  "supervisor.v1.ScheduleService/UnpauseSchedule",
  "supervisor.v1.ScheduleService/TriggerSchedule",
];

/**
 * `GET /dashboard/session`: the caller's token name and role, and which of the dashboard's writes the
 * role may call — decided by the same roles table as every call, so the page never guesses. A missing
 * or wrong token is the API's 401 (the page then asks for one). The server still refuses what a role
 * may not do: this only decides what the page shows.
 */
export function sessionOf(principal: Principal, authEnabled: boolean) {
  const may = Object.fromEntries(
    DASHBOARD_WRITES.map((method) => [method.split("/")[1], roleMayCall(principal.role, method)]),
  );
  return { name: principal.name, role: principal.role, authEnabled, may };
}
