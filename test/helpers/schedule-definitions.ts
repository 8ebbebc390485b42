import { ErrorReason, type FieldViolation, type Schedule, ScheduleSpec, subprocess } from "@supervisor/sdk";
import { expect } from "vitest";
import { Code, DomainError } from "../../server/src/errors.js";
import { validateDefinition } from "../../server/src/schedule/validate.js";

/** A client's Schedule: id "nightly", a subprocess template, the given spec fields and top-level fields. */
export function scheduleInput(spec: Partial<ScheduleSpec> | undefined, fields: Partial<Schedule> = {}): Schedule {
  return {
    id: "nightly",
    spec: spec && ScheduleSpec.fromPartial(spec),
    task: subprocess("/bin/true"),
    overlap: 0,
    catchupWindow: undefined,
    paused: false,
    labels: {},
    note: "",
    status: undefined,
    createTime: undefined,
    updateTime: undefined,
    generation: 0,
    ...fields,
  };
}

/** The stored definition of scheduleInput(spec, fields) (validated, defaults filled). */
export const definition = (spec: Partial<ScheduleSpec> | undefined, fields: Partial<Schedule> = {}) =>
  validateDefinition(scheduleInput(spec, fields));

export const at = (iso: string) => Date.parse(iso);
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
export const seconds = (s: number) => ({ seconds: s, nanos: 0 });

/** The FieldViolations of the INVALID_ARGUMENT (reason INVALID_REQUEST) that `run` throws. */
export function violationsThrown(run: () => unknown): FieldViolation[] {
  try {
    run();
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe(ErrorReason.INVALID_REQUEST);
    return error.violations;
  }
  throw new Error("expected INVALID_ARGUMENT, nothing was thrown");
}
