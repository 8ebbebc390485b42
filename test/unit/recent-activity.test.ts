import { EventType, TaskPhase } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { attributesOf } from "../../server/src/core/task-filter.js";
import { RecentActivity } from "../../server/src/http/dashboard/recent-activity.js";
import type { TaskChange } from "../../server/src/store/backend.js";
import { FakeClock } from "../helpers/fake-clock.js";

const MINUTE = 60_000;

function task(id: string, phase: TaskPhase, createMs: number, startMs?: number, finishMs?: number) {
  return {
    id,
    createTime: new Date(createMs),
    status: {
      phase,
      startTime: startMs === undefined ? undefined : new Date(startMs),
      finishTime: finishMs === undefined ? undefined : new Date(finishMs),
    },
  } as unknown as TaskChange["task"];
}

const added = (t: TaskChange["task"], revision: number): TaskChange => ({
  revision,
  type: EventType.EVENT_TYPE_ADDED,
  task: t,
});
const modified = (t: TaskChange["task"], before: TaskPhase, revision: number): TaskChange => ({
  revision,
  type: EventType.EVENT_TYPE_MODIFIED,
  task: t,
  previous: { ...attributesOf(t), phase: before },
});

describe("RecentActivity (the overview's last hour)", () => {
  it("counts submits and ends by phase once per end, with latency percentiles", () => {
    const clock = new FakeClock();
    const activity = new RecentActivity(clock);
    const t0 = clock.now();
    const a = task("a", TaskPhase.TASK_PHASE_SUCCEEDED, t0, t0 + 40, t0 + 900);
    activity.record([
      added(task("a", TaskPhase.TASK_PHASE_PENDING, t0), 1),
      added(task("b", TaskPhase.TASK_PHASE_PENDING, t0), 2),
    ]);
    activity.record([modified(a, TaskPhase.TASK_PHASE_RUNNING, 3)]);
    // A change to a task already ended (e.g. its labels) is no second end.
    activity.record([modified(a, TaskPhase.TASK_PHASE_SUCCEEDED, 4)]);
    activity.record([
      modified(task("b", TaskPhase.TASK_PHASE_CANCELED, t0, undefined, t0 + 5), TaskPhase.TASK_PHASE_PENDING, 5),
    ]);
    const summary = activity.summary();
    expect(summary.submittedLastHour).toBe(2);
    expect(summary.endedLastHour).toEqual({ SUCCEEDED: 1, CANCELED: 1 });
    expect(summary.endedPerMinute.at(-1)).toBe(2);
    expect(summary.startLatencyMs).toEqual({ p50: 50, p95: 50 }); // the bucket bound holding 40 ms
    expect(summary.endLatencyMs.p95).toBe(1_000);
  });

  it("forgets what is more than an hour old, a minute at a time", () => {
    const clock = new FakeClock();
    const activity = new RecentActivity(clock);
    const t0 = clock.now();
    activity.record([modified(task("a", TaskPhase.TASK_PHASE_FAILED, t0, t0, t0), TaskPhase.TASK_PHASE_RUNNING, 1)]);
    clock.advance(59 * MINUTE);
    expect(activity.summary().endedLastHour).toEqual({ FAILED: 1 });
    expect(activity.summary().endedPerMinute[0]).toBe(1);
    clock.advance(MINUTE);
    expect(activity.summary().endedLastHour).toEqual({});
    expect(activity.summary().endedPerMinute.every((n) => n === 0)).toBe(true);
  });
});
