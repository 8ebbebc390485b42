import { randomUUID } from "node:crypto";
import { ErrorReason, Schedule, ScheduleSpec, type Task, type TriggerOverrides } from "@supervisor/sdk";
import type { Clock } from "../core/clock.js";
import { canonicalSelector, matchesSelector, parseLabelSelector, SelectorSyntaxError } from "../core/selector.js";
import { DomainError, invalidArgument, scheduleExists, scheduleNotFound, storeUnavailable } from "../errors.js";
import type { ScheduleRow, ScheduleStore } from "../store/backend.js";
import { decodePageToken, encodePageToken, pageSizeOf } from "../validation/page-token.js";
import { fireRequest } from "./fire.js";
import type { TaskFirer } from "./fire-tasks.js";
import { scheduleMessage } from "./message.js";
import { cursorAfterChange } from "./plan.js";
import { applyUpdateMask } from "./update-mask.js";
import { validateDefinition, validateScheduleId } from "./validate.js";

/** A client's change lost a race with another one (or the scheduler's) this many times in a row: give up. */
const MAX_CHANGE_ATTEMPTS = 20;
/** Rows read per round while a filtered list fills its page. */
const LIST_CHUNK = 200;

export interface SchedulesDeps {
  store: ScheduleStore;
  clock: Clock;
  firer: TaskFirer;
  /** After every change a client made: the scheduler looks again at once. */
  changed: () => void;
  /** A stored task (a repeated trigger's first task). */
  getTask: (id: string) => Promise<Task | undefined>;
}

export interface SchedulePage {
  schedules: Schedule[];
  nextPageToken: string;
}

/** What ScheduleService does, transport aside: definitions checked, rows changed by compare-and-set. */
export class Schedules {
  constructor(private readonly deps: SchedulesDeps) {}

  async create(input: Schedule | undefined): Promise<Schedule> {
    const definition = validateDefinition(input);
    const now = this.deps.clock.now();
    this.deps.firer.check(fireRequest(definition, now));
    const row: ScheduleRow = {
      id: definition.id,
      definition,
      generation: 1,
      createMs: now,
      updateMs: now,
      ...cursorAfterChange(definition, now, now, now),
      lastFireMs: null,
      recentTaskIds: [],
      missed: 0,
      skipped: 0,
      fired: 0,
    };
    if (!(await this.deps.store.create(row))) throw scheduleExists(definition.id);
    this.deps.changed();
    return scheduleMessage(row, now);
  }

  async get(id: string): Promise<Schedule> {
    return scheduleMessage(await this.row(id, "id"), this.deps.clock.now());
  }

  async list(pageSize: number, pageToken: string, labelSelector: string): Promise<SchedulePage> {
    const size = pageSizeOf(pageSize);
    const selector = this.selector(labelSelector);
    const filterKey = selector ? canonicalSelector(selector) : "";
    let after = decodePageToken(pageToken, filterKey) ?? "";
    const now = this.deps.clock.now();
    const schedules: Schedule[] = [];
    for (;;) {
      const rows = await this.deps.store.list(after, LIST_CHUNK);
      for (const row of rows) {
        after = row.id;
        if (selector && !matchesSelector(selector, row.definition.labels)) continue;
        schedules.push(scheduleMessage(row, now));
        if (schedules.length === size) {
          const more = rows.length === LIST_CHUNK || row !== rows[rows.length - 1];
          return { schedules, nextPageToken: more ? encodePageToken(after, filterKey) : "" };
        }
      }
      if (rows.length < LIST_CHUNK) return { schedules, nextPageToken: "" };
    }
  }

  /** Changes the masked fields; a new spec (or an unpause) starts from now, the counts stay. */
  update(patch: Schedule | undefined, mask: readonly string[] | undefined): Promise<Schedule> {
    const id = patch?.id ?? "";
    return this.change(id, "schedule.id", (current) => validateDefinition(applyUpdateMask(current, patch!, mask)));
  }

  pause(id: string, note: string): Promise<Schedule> {
    return this.change(id, "id", (current) => ({ ...current, paused: true, note: note || current.note }));
  }

  unpause(id: string, note: string): Promise<Schedule> {
    return this.change(id, "id", (current) => ({ ...current, paused: false, note: note || current.note }));
  }

  async delete(id: string): Promise<void> {
    this.checkId(id, "id");
    if (!(await this.deps.store.delete(id))) throw scheduleNotFound(id);
    this.deps.changed();
  }

  /** Fires the template now, with the overrides, under the overlap policy, paused or not. */
  async trigger(id: string, requestId: string, overrides: TriggerOverrides | undefined): Promise<Task> {
    const row = await this.row(id, "id");
    const now = this.deps.clock.now();
    const opts = { requestId: requestId || randomUUID(), overrides };
    const { stored, created } = await this.deps.firer
      .submit(fireRequest(row.definition, now, opts))
      .catch((error: unknown) => this.repeatedTrigger(row.definition, opts, error));
    // A repeated request id is the same fire: counted once.
    if (created) await this.deps.store.recordTrigger(id, stored.task.id, now);
    return stored.task;
  }

  /**
   * A trigger's request id used before: a retry of that call differs from it only in the fire's time (its
   * nominal time and label), so it is fired again at the first call's time — the same spec answers with the
   * first task; other overrides are REQUEST_ID_REUSED still.
   */
  private async repeatedTrigger(
    definition: Schedule,
    opts: Parameters<typeof fireRequest>[2],
    error: unknown,
  ): Promise<Awaited<ReturnType<TaskFirer["submit"]>>> {
    const taskId =
      error instanceof DomainError && error.reason === ErrorReason.REQUEST_ID_REUSED && error.metadata.task_id;
    const first = taskId ? await this.deps.getTask(taskId) : undefined;
    const firstMs = first?.spec?.scheduledBy?.nominalTime?.getTime();
    if (firstMs === undefined) throw error;
    return this.deps.firer.submit(fireRequest(definition, firstMs, opts));
  }

  /** Read, change, write if nobody wrote in between; again if somebody did. */
  private async change(id: string, field: string, edit: (current: Schedule) => Schedule): Promise<Schedule> {
    for (let attempt = 0; attempt < MAX_CHANGE_ATTEMPTS; attempt++) {
      const row = await this.row(id, field);
      const definition = edit(row.definition);
      const now = this.deps.clock.now();
      if (sameBytes(definition, row.definition)) return scheduleMessage(row, now); // nothing to change
      this.deps.firer.check(fireRequest(definition, now));
      const restart = !sameSpec(definition, row.definition) || (row.definition.paused && !definition.paused);
      const next: ScheduleRow = {
        ...row,
        definition,
        generation: row.generation + 1,
        updateMs: now,
        // A new timetable's past ticks never existed, and ticks while paused are not caught up.
        ...(restart ? cursorAfterChange(definition, row.createMs, row.cursorMs, now) : {}),
      };
      if (await this.deps.store.update(next, row.generation)) {
        this.deps.changed();
        return scheduleMessage(next, now);
      }
    }
    throw storeUnavailable(`schedule ${id} changed under this update ${MAX_CHANGE_ATTEMPTS} times in a row`);
  }

  private async row(id: string, field: string): Promise<ScheduleRow> {
    this.checkId(id, field);
    const row = await this.deps.store.get(id);
    if (!row) throw scheduleNotFound(id);
    return row;
  }

  private checkId(id: string, field: string): void {
    const violations = validateScheduleId(id, field);
    if (violations.length > 0) throw invalidArgument(violations);
  }

  private selector(text: string) {
    if (!text) return undefined;
    try {
      return parseLabelSelector(text);
    } catch (error) {
      if (!(error instanceof SelectorSyntaxError)) throw error;
      throw invalidArgument(
        [{ field: "label_selector", description: error.message }],
        ErrorReason.LABEL_SELECTOR_INVALID,
      );
    }
  }
}

const sameBytes = (a: Schedule, b: Schedule): boolean =>
  Buffer.from(Schedule.encode(a).finish()).equals(Schedule.encode(b).finish());

const sameSpec = (a: Schedule, b: Schedule): boolean =>
  Buffer.from(ScheduleSpec.encode(ScheduleSpec.fromPartial(a.spec ?? {})).finish()).equals(
    ScheduleSpec.encode(ScheduleSpec.fromPartial(b.spec ?? {})).finish(),
  );
