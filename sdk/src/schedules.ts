import type { Metadata } from "@grpc/grpc-js";
import { type CallSettings, type UnaryMethod, unaryCall } from "./call.js";
import { SupervisorError } from "./errors.js";
import { Schedule } from "./gen/supervisor/v1/schedule.js";
import {
  type ListSchedulesResponse,
  type ScheduleServiceClient,
  TriggerOverrides,
  type TriggerScheduleRequest,
} from "./gen/supervisor/v1/schedule_service.js";
import type { Task } from "./gen/supervisor/v1/task.js";
import { type DeepPartial, fromInput } from "./input.js";
import { ErrorReason } from "./reasons.js";
import { type RetryPolicy, withRetry } from "./retry.js";
import { IdGenerator } from "./uuidv7.js";

/** A Schedule with any field left out; `task` takes a spec helper's result (`subprocess(…)`). */
export type ScheduleInput = DeepPartial<Schedule>;
/** TriggerOverrides with any field left out. */
export type TriggerOverridesInput = DeepPartial<TriggerOverrides>;

export interface ScheduleListOptions extends CallSettings {
  /** Kubernetes label selector over the schedules' own labels (`"team=a,tier!=db"`). */
  labelSelector?: string;
  /** Schedules per ListSchedules call (0 or left out = the server's default, 50; at most 1000). */
  pageSize?: number;
}

export interface ScheduleListPageOptions extends ScheduleListOptions {
  /** Where the previous page ended (its `nextPageToken`); left out = the first page. */
  pageToken?: string;
}

export interface TriggerOptions extends CallSettings {
  /** Idempotency key; generated when left out, so a retried trigger fires once. */
  requestId?: string;
  /** Changes to the template for this fire only (args with `replaceArgs`, env, payload, labels). */
  overrides?: TriggerOverridesInput;
}

/** What the schedule calls share with the rest of the client: the token, the retry policy, the deadline. */
export interface CallContext {
  metadata: Metadata;
  retry: RetryPolicy;
  deadlineMs: number;
}

const requestIds = new IdGenerator();

/** The TriggerScheduleRequest of `trigger(id, options)`: a request id is always sent. */
export function triggerRequest(id: string, options: TriggerOptions = {}, newId = () => requestIds.next()) {
  return {
    id,
    requestId: options.requestId || newId(),
    overrides: options.overrides === undefined ? undefined : fromInput(TriggerOverrides, options.overrides),
  } satisfies TriggerScheduleRequest;
}

/**
 * ScheduleService through the client's connection: `client.schedules.create(…)`.
 * Calls are retried on transient errors as the client's are, except create
 * (a second CreateSchedule after a lost answer would fail with
 * SCHEDULE_EXISTS; after UNAVAILABLE, `get(id)` tells whether it was stored).
 */
export class Schedules {
  constructor(
    /** The generated client, for what these methods do not cover. */
    readonly service: ScheduleServiceClient,
    private readonly context: CallContext,
  ) {}

  private settings(settings: CallSettings = {}): CallSettings {
    return { deadlineMs: settings.deadlineMs ?? this.context.deadlineMs, signal: settings.signal };
  }

  private once<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, settings?: CallSettings): Promise<Res> {
    return unaryCall(method.bind(this.service), request, this.context.metadata, this.settings(settings));
  }

  private idempotent<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, settings?: CallSettings): Promise<Res> {
    const resolved = this.settings(settings);
    const call = () => unaryCall(method.bind(this.service), request, this.context.metadata, resolved);
    return withRetry(call, this.context.retry, resolved.signal);
  }

  /** Stores a schedule; it fires from its first tick after now. Id taken: SCHEDULE_EXISTS. */
  async create(schedule: ScheduleInput, options?: CallSettings): Promise<Schedule> {
    const request = { schedule: fromInput(Schedule, schedule) };
    return (await this.once(this.service.createSchedule, request, options)).schedule!;
  }

  /** One schedule with its status (next fire times, recent task ids, counts). Unknown id: SCHEDULE_NOT_FOUND. */
  async get(id: string, options?: CallSettings): Promise<Schedule> {
    return (await this.idempotent(this.service.getSchedule, { id }, options)).schedule!;
  }

  /** One page of schedules, by id: `listPage({ labelSelector, pageSize, pageToken })`. */
  listPage(options: ScheduleListPageOptions = {}): Promise<ListSchedulesResponse> {
    const request = {
      labelSelector: options.labelSelector ?? "",
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? "",
    };
    return this.idempotent(this.service.listSchedules, request, options);
  }

  /** Every schedule (matching `labelSelector`), by id, fetching pages as you iterate. */
  async *list(options: ScheduleListOptions = {}): AsyncGenerator<Schedule> {
    let pageToken = "";
    do {
      const page = await this.listPage({ ...options, pageToken });
      yield* page.schedules;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * Changes the fields named by `updateMask` (paths such as `spec.cron`,
   * `task`, `overlap`, `note`) to their values in `schedule`, which names
   * the schedule by its id. Without a mask: every field set in `schedule`.
   */
  async update(schedule: ScheduleInput, updateMask?: readonly string[], options?: CallSettings): Promise<Schedule> {
    const request = { schedule: fromInput(Schedule, schedule), updateMask: updateMask ? [...updateMask] : undefined };
    return (await this.idempotent(this.service.updateSchedule, request, options)).schedule!;
  }

  /**
   * Deletes a schedule: it fires no more; the tasks it fired stay. A retry
   * that finds it gone (the first attempt's answer was lost) succeeds.
   */
  async delete(id: string, options?: CallSettings): Promise<void> {
    const resolved = this.settings(options);
    let attempts = 0;
    const call = () => {
      attempts++;
      return unaryCall(this.service.deleteSchedule.bind(this.service), { id }, this.context.metadata, resolved);
    };
    try {
      await withRetry(call, this.context.retry, resolved.signal);
    } catch (error) {
      const gone = error instanceof SupervisorError && error.reason === ErrorReason.SCHEDULE_NOT_FOUND;
      if (!(gone && attempts > 1)) throw error;
    }
  }

  /** Pauses it (already paused: fine); `note`, when given, replaces the schedule's note (say why). */
  async pause(id: string, note = "", options?: CallSettings): Promise<Schedule> {
    return (await this.idempotent(this.service.pauseSchedule, { id, note }, options)).schedule!;
  }

  /** Unpauses it (not paused: fine): it fires from its next tick after now; ticks while paused are not caught up. */
  async unpause(id: string, note = "", options?: CallSettings): Promise<Schedule> {
    return (await this.idempotent(this.service.unpauseSchedule, { id, note }, options)).schedule!;
  }

  /**
   * Fires the schedule's task now (paused or not, named definition or not),
   * under its overlap policy: `trigger(id, { requestId, overrides })`. A
   * request id is generated when none is given, so a retried trigger fires once.
   */
  async trigger(id: string, options: TriggerOptions = {}): Promise<Task> {
    return (await this.idempotent(this.service.triggerSchedule, triggerRequest(id, options), options)).task!;
  }

  close(): void {
    this.service.close();
  }
}
