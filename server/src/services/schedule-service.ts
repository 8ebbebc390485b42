import type { ScheduleServiceServer } from "@supervisor/sdk";
import type { Logger } from "../errors.js";
import type { Schedules } from "../schedule/schedules.js";
import { unary } from "./handlers.js";

export interface ScheduleServiceDeps {
  schedules: Schedules;
  log: Logger;
  shutdown: AbortSignal;
}

/** ScheduleService: thin — every decision is in Schedules. */
export function scheduleServiceHandlers(deps: ScheduleServiceDeps): ScheduleServiceServer {
  const { schedules, log, shutdown } = deps;
  return {
    createSchedule: unary(log, shutdown, async (request) => ({ schedule: await schedules.create(request.schedule) })),
    getSchedule: unary(log, shutdown, async (request) => ({ schedule: await schedules.get(request.id) })),
    listSchedules: unary(log, shutdown, (request) =>
      schedules.list(request.pageSize, request.pageToken, request.labelSelector),
    ),
    updateSchedule: unary(log, shutdown, async (request) => ({
      schedule: await schedules.update(request.schedule, request.updateMask),
    })),
    deleteSchedule: unary(log, shutdown, async (request) => {
      await schedules.delete(request.id);
      return {};
    }),
    pauseSchedule: unary(log, shutdown, async (request) => ({
      schedule: await schedules.pause(request.id, request.note),
    })),
    unpauseSchedule: unary(log, shutdown, async (request) => ({
      schedule: await schedules.unpause(request.id, request.note),
    })),
    triggerSchedule: unary(log, shutdown, async (request) => ({
      task: await schedules.trigger(request.id, request.requestId, request.overrides),
    })),
  };
}
