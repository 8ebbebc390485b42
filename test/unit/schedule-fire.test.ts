import { AdmissionPolicy, embedded, OverlapPolicy, subprocess, Trigger, TriggerOverrides } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";
import {
  fireRequest,
  jitterDelayMs,
  NOMINAL_TIME_LABEL,
  nominalTimeLabel,
  SCHEDULE_LABEL,
  tickRequestId,
} from "../../server/src/schedule/fire.js";
import { at, definition, seconds, violationsThrown } from "../helpers/schedule-definitions.js";

const NOMINAL = at("2026-03-29T01:00:00.250Z");

describe("fireRequest", () => {
  it("a tick: the tick's request id, trigger SCHEDULE, scheduled_by and the two labels", () => {
    const def = definition({ cron: "* * * * *" }, { task: subprocess("/bin/echo", ["hi"], { labels: { team: "a" } }) });
    const fire = fireRequest(def, NOMINAL);
    expect(fire.requestId).toBe("schedule:nightly:1774746000250");
    expect(fire.requestId).toBe(tickRequestId("nightly", NOMINAL));
    expect(fire.spec.trigger).toBe(Trigger.TRIGGER_SCHEDULE);
    expect(fire.spec.scheduledBy).toEqual({ scheduleId: "nightly", nominalTime: new Date(NOMINAL) });
    expect(fire.spec.labels).toEqual({
      team: "a",
      [SCHEDULE_LABEL]: "nightly",
      [NOMINAL_TIME_LABEL]: "20260329T010000Z",
    });
    expect(fire.spec.notBefore).toBeUndefined(); // no jitter
    expect(def.task!.labels).toEqual({ team: "a" }); // the definition is not changed
  });

  it("nominal-time label: UTC, YYYYMMDDTHHMMSSZ", () => {
    expect(nominalTimeLabel(at("2026-12-01T23:59:07.999Z"))).toBe("20261201T235907Z");
  });

  it("overlap → slot and admission", () => {
    const cases = [
      [OverlapPolicy.OVERLAP_POLICY_UNSPECIFIED, AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING, false],
      [OverlapPolicy.OVERLAP_POLICY_SKIP, AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING, false],
      [OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE, AdmissionPolicy.ADMISSION_POLICY_QUEUE, true],
      [OverlapPolicy.OVERLAP_POLICY_CANCEL_OTHER, AdmissionPolicy.ADMISSION_POLICY_REPLACE, false],
    ] as const;
    for (const [overlap, admission, bufferOne] of cases) {
      const fire = fireRequest({ ...definition({ cron: "* * * * *" }), overlap }, NOMINAL);
      expect({ slot: fire.spec.slot, admission: fire.spec.admission, bufferOne: fire.bufferOne }).toEqual({
        slot: "schedule/nightly",
        admission,
        bufferOne,
      });
    }
  });

  it("overlap with the template's own slot keeps that slot", () => {
    const def = definition(
      { cron: "* * * * *" },
      { task: subprocess("/bin/true", [], { slot: "db-backup" }), overlap: OverlapPolicy.OVERLAP_POLICY_CANCEL_OTHER },
    );
    const fire = fireRequest(def, NOMINAL);
    expect(fire.spec.slot).toBe("db-backup");
    expect(fire.spec.admission).toBe(AdmissionPolicy.ADMISSION_POLICY_REPLACE);
  });

  it("ALLOW_ALL: the template's slot and admission as written", () => {
    const none = fireRequest(
      definition({ cron: "* * * * *" }, { overlap: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL }),
      NOMINAL,
    );
    expect(none.spec.slot).toBe("");
    expect(none.bufferOne).toBe(false);
    const own = definition(
      { cron: "* * * * *" },
      {
        task: subprocess("/bin/true", [], { slot: "s", admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE }),
        overlap: OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
      },
    );
    expect(fireRequest(own, NOMINAL).spec).toMatchObject({
      slot: "s",
      admission: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
    });
  });

  it("jitter: not_before = nominal + a deterministic delay; a later template not_before wins", () => {
    const def = definition({ interval: seconds(3600), jitter: seconds(600) });
    const delay = jitterDelayMs("nightly", NOMINAL, 600_000);
    expect(fireRequest(def, NOMINAL).spec.notBefore).toEqual(new Date(NOMINAL + delay));
    expect(fireRequest(def, NOMINAL).spec.notBefore).toEqual(fireRequest(def, NOMINAL).spec.notBefore);
    const late = new Date(NOMINAL + 3_600_000);
    const withOwn = definition(
      { interval: seconds(3600), jitter: seconds(600) },
      { task: subprocess("/bin/true", [], { notBefore: late }) },
    );
    expect(fireRequest(withOwn, NOMINAL).spec.notBefore).toEqual(late);
  });

  it("a trigger: its request id, no jitter, the overrides applied", () => {
    const def = definition(
      { interval: seconds(3600), jitter: seconds(600) },
      { task: subprocess("/bin/echo", ["a"], { env: { A: "1", B: "2" }, labels: { x: "1" } }) },
    );
    const overrides = TriggerOverrides.fromPartial({
      args: ["b", "c"],
      replaceArgs: true,
      env: { B: "3" },
      labels: { x: "2", y: "1", [SCHEDULE_LABEL]: "other" },
    });
    const fire = fireRequest(def, NOMINAL, { requestId: "req-1", overrides });
    expect(fire.requestId).toBe("req-1");
    expect(fire.spec.notBefore).toBeUndefined();
    expect(fire.spec.exec).toMatchObject({ $case: "subprocess", value: { args: ["b", "c"], env: { A: "1", B: "3" } } });
    expect(fire.spec.labels).toMatchObject({ x: "2", y: "1", [SCHEDULE_LABEL]: "nightly" });
    const none = fireRequest(def, NOMINAL, {
      requestId: "r",
      overrides: TriggerOverrides.fromPartial({ replaceArgs: true }),
    });
    expect(none.spec.exec).toMatchObject({ value: { args: [] } });
  });

  it("overrides: payload replaces an embedded task's payload", () => {
    const def = definition({ cron: "* * * * *" }, { task: embedded("report", { day: "mon" }) });
    const fire = fireRequest(def, NOMINAL, {
      requestId: "r",
      overrides: TriggerOverrides.fromPartial({ payload: { day: "tue" } }),
    });
    expect(fire.spec.exec).toMatchObject({ $case: "embedded", value: { payload: { day: "tue" } } });
  });

  it("overrides the task's kind has no place for: INVALID_ARGUMENT naming the override", () => {
    const embeddedDef = definition({ cron: "* * * * *" }, { task: embedded("report") });
    const bad = TriggerOverrides.fromPartial({ args: ["x"], replaceArgs: true, env: { A: "1" } });
    expect(violationsThrown(() => fireRequest(embeddedDef, NOMINAL, { requestId: "r", overrides: bad }))).toEqual([
      { field: "overrides.args", description: "the task is embedded: it has no args" },
      { field: "overrides.env", description: "the task is embedded: it has no env" },
    ]);
    const subprocessDef = definition({ cron: "* * * * *" });
    const payload = TriggerOverrides.fromPartial({ payload: { a: 1 }, args: ["x"] });
    expect(violationsThrown(() => fireRequest(subprocessDef, NOMINAL, { requestId: "r", overrides: payload }))).toEqual(
      [
        { field: "overrides.payload", description: "the task is subprocess: only embedded has a payload" },
        { field: "overrides.args", description: "set replace_args to replace the args" },
      ],
    );
  });
});

describe("jitterDelayMs", () => {
  it("deterministic, in [0, jitter), spread over the range", () => {
    const delays = Array.from({ length: 2000 }, (_, i) => jitterDelayMs("nightly", NOMINAL + i * 1000, 60_000));
    expect(delays).toEqual(
      Array.from({ length: 2000 }, (_, i) => jitterDelayMs("nightly", NOMINAL + i * 1000, 60_000)),
    );
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d < 60_000)).toBe(true);
    expect(Math.min(...delays)).toBeLessThan(6_000);
    expect(Math.max(...delays)).toBeGreaterThan(54_000);
    expect(jitterDelayMs("other", NOMINAL, 60_000)).not.toBe(jitterDelayMs("nightly", NOMINAL, 60_000));
  });

  it("1 ms of jitter is always 0; none is 0", () => {
    expect(jitterDelayMs("nightly", NOMINAL, 1)).toBe(0);
    expect(jitterDelayMs("nightly", NOMINAL, 0)).toBe(0);
  });
});
