import { OverlapPolicy, ScheduleSpec, subprocess } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import { applyUpdateMask } from "../../server/src/schedule/update-mask.js";
import { definition, scheduleInput, seconds, violationsThrown } from "../helpers/schedule-definitions.js";

const current = definition(
  { cron: "0 3 * * *", timeZone: "Europe/Berlin", jitter: seconds(30) },
  { labels: { team: "a" }, note: "old", overlap: OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE },
);

describe("applyUpdateMask", () => {
  it("a top-level path replaces that field only", () => {
    const patch = scheduleInput({ interval: seconds(60) }, { note: "new", labels: { team: "b" } });
    const updated = applyUpdateMask(current, patch, ["note"]);
    expect(updated).toEqual({ ...current, note: "new" });
    expect(applyUpdateMask(current, patch, ["labels"]).labels).toEqual({ team: "b" });
    expect(applyUpdateMask(current, patch, ["spec"]).spec).toEqual(patch.spec);
  });

  it("spec.<field> replaces one field of the spec; unset in the patch clears it", () => {
    const patch = scheduleInput({ cron: "0 4 * * *" });
    const updated = applyUpdateMask(current, patch, ["spec.cron", "spec.jitter"]);
    expect(updated.spec).toEqual({ ...current.spec, cron: "0 4 * * *", jitter: undefined });
    const interval = applyUpdateMask(current, scheduleInput({ interval: seconds(60) }), [
      "spec.interval",
      "spec.cron",
      "spec.time_zone",
    ]);
    expect(interval.spec).toEqual({ ...current.spec, cron: "", interval: seconds(60), timeZone: "" });
    const named = applyUpdateMask(definition(undefined), scheduleInput({ startTime: new Date(0) }), [
      "spec.start_time",
    ]);
    expect(named.spec).toEqual(ScheduleSpec.fromPartial({ startTime: new Date(0) }));
  });

  it("every listed path is accepted", () => {
    const paths = ["spec", "task", "overlap", "catchup_window", "paused", "labels", "note"].concat(
      ["cron", "interval", "time_zone", "jitter", "start_time", "end_time"].map((f) => `spec.${f}`),
    );
    expect(() => applyUpdateMask(current, scheduleInput(undefined), paths)).not.toThrow();
  });

  it("no mask or an empty one: every client field set in the patch (AIP-134)", () => {
    const patch = scheduleInput(undefined, { note: "new", paused: true, catchupWindow: seconds(5) });
    patch.task = undefined;
    for (const mask of [undefined, []]) {
      expect(applyUpdateMask(current, patch, mask)).toEqual({
        ...current,
        note: "new",
        paused: true,
        catchupWindow: seconds(5),
      });
    }
    const task = subprocess("/bin/false");
    expect(applyUpdateMask(current, { ...patch, task }, []).task).toEqual(task);
  });

  it('"*" replaces every client field', () => {
    const patch = scheduleInput({ interval: seconds(60) });
    const updated = applyUpdateMask(current, patch, ["*"]);
    expect(updated).toMatchObject({ spec: patch.spec, labels: {}, note: "", overlap: 0, task: patch.task });
    expect(updated.id).toBe(current.id);
  });

  it("unknown and output-only paths: INVALID_ARGUMENT on update_mask", () => {
    const patch = scheduleInput(undefined);
    expect(violationsThrown(() => applyUpdateMask(current, patch, ["cron", "status", "id", "spec.nope"]))).toEqual([
      { field: "update_mask", description: '"cron" is not a field of Schedule a client sets' },
      { field: "update_mask", description: '"status" cannot be changed' },
      { field: "update_mask", description: '"id" cannot be changed' },
      { field: "update_mask", description: '"spec.nope" is not a field of Schedule a client sets' },
    ]);
    for (const path of ["create_time", "update_time", "generation", "catchupWindow", "spec.timeZone"])
      expect(violationsThrown(() => applyUpdateMask(current, patch, [path]))[0]?.field).toBe("update_mask");
  });

  it("does not change its inputs", () => {
    const before = structuredClone(current);
    const patch = scheduleInput({ cron: "0 4 * * *" }, { labels: { x: "y" } });
    const updated = applyUpdateMask(current, patch, ["spec.cron", "labels"]);
    updated.labels.z = "1";
    expect(current).toEqual(before);
    expect(patch.labels).toEqual({ x: "y" });
  });
});
