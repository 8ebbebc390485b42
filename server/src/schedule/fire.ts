import { createHash } from "node:crypto";
import {
  AdmissionPolicy,
  type FieldViolation,
  OverlapPolicy,
  type Schedule,
  type TaskSpec,
  Trigger,
  type TriggerOverrides,
} from "@supervisor/sdk";
import { invalidArgument } from "../errors.js";
import { jitterMs } from "./durations.js";

/** Label of every fired task: the schedule's id (list them with supervisor.dev/schedule=<id>). */
export const SCHEDULE_LABEL = "supervisor.dev/schedule";
/** Label of every fired task: the tick's nominal time, UTC, YYYYMMDDTHHMMSSZ. */
export const NOMINAL_TIME_LABEL = "supervisor.dev/nominal-time";

export interface FireRequest {
  spec: TaskSpec;
  requestId: string;
  /** BUFFER_ONE: submit with SubmitSettings.slotQueueLimit 1. */
  bufferOne: boolean;
}

/** The request id of a tick: the same every time the tick is fired, so a tick stores one task. */
export const tickRequestId = (scheduleId: string, nominalMs: number): string => `schedule:${scheduleId}:${nominalMs}`;

/** A delay in [0, jitterMs) derived from (schedule, tick): the same on every server and every retry. */
export function jitterDelayMs(scheduleId: string, nominalMs: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const digest = createHash("sha256").update(`${scheduleId}:${nominalMs}`).digest();
  return digest.readUIntBE(0, 6) % jitterMs; // 48 bits: the modulo bias is below 2^-21
}

/** 2026-03-29T01:00:00.250Z → 20260329T010000Z (a label value: no ':' allowed). */
export const nominalTimeLabel = (nominalMs: number): string =>
  `${new Date(nominalMs).toISOString().slice(0, 19).replace(/[-:]/g, "")}Z`;

/**
 * What one fire submits: the definition's task template (validated, defaults filled) with
 * trigger TRIGGER_SCHEDULE, scheduled_by, the two supervisor.dev labels (they win over the
 * template's and the overrides' labels), and slot/admission set by the overlap policy.
 *
 * A scheduled tick (no opts.requestId) gets the tick's request id and, when the spec has a jitter,
 * not_before = nominal + jitterDelayMs; a template's own not_before stays when it is later (the
 * later of the two: neither bound is broken). A trigger (opts.requestId, nominal = the call's time)
 * runs now: no jitter, and `overrides` applied (TriggerOverrides in schedule_service.proto).
 * A signed template stays signed as written; fields this changes that a signature covers (slot,
 * admission, not_before, exec args/env/payload) make the submit fail its signature check.
 * Throws INVALID_ARGUMENT (fields `overrides.*`) for an override the task's kind has no place for.
 */
export function fireRequest(
  definition: Schedule,
  nominalMs: number,
  opts?: { requestId?: string; overrides?: TriggerOverrides },
): FireRequest {
  if (!definition.task) throw new Error(`schedule ${definition.id} has no task template`);
  const spec = structuredClone(definition.task);
  if (opts?.overrides) applyOverrides(spec, opts.overrides);
  spec.trigger = Trigger.TRIGGER_SCHEDULE;
  spec.scheduledBy = { scheduleId: definition.id, nominalTime: new Date(nominalMs) };
  spec.labels = { ...spec.labels, [SCHEDULE_LABEL]: definition.id, [NOMINAL_TIME_LABEL]: nominalTimeLabel(nominalMs) };
  const jitter = jitterMs(definition);
  if (opts?.requestId === undefined && jitter > 0) {
    const notBefore = nominalMs + jitterDelayMs(definition.id, nominalMs, jitter);
    if (!spec.notBefore || spec.notBefore.getTime() < notBefore) spec.notBefore = new Date(notBefore);
  }
  const bufferOne = applyOverlap(spec, definition);
  return { spec, requestId: opts?.requestId ?? tickRequestId(definition.id, nominalMs), bufferOne };
}

/** Slot and admission of the overlap policy; true for BUFFER_ONE (a queue bound of one). */
function applyOverlap(spec: TaskSpec, definition: Schedule): boolean {
  const admission = {
    [OverlapPolicy.OVERLAP_POLICY_UNSPECIFIED]: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
    [OverlapPolicy.OVERLAP_POLICY_SKIP]: AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
    [OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE]: AdmissionPolicy.ADMISSION_POLICY_QUEUE,
    [OverlapPolicy.OVERLAP_POLICY_CANCEL_OTHER]: AdmissionPolicy.ADMISSION_POLICY_REPLACE,
  }[definition.overlap as number];
  if (admission === undefined) return false; // ALLOW_ALL: the template's slot and admission as written
  spec.slot ||= `schedule/${definition.id}`;
  spec.admission = admission;
  return definition.overlap === OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE;
}

function applyOverrides(spec: TaskSpec, overrides: TriggerOverrides): void {
  const exec = spec.exec;
  const violations: FieldViolation[] = [];
  const hasEnv = Object.keys(overrides.env).length > 0;
  if (exec?.$case === "embedded") {
    if (overrides.replaceArgs || overrides.args.length > 0)
      violations.push({ field: "overrides.args", description: "the task is embedded: it has no args" });
    if (hasEnv) violations.push({ field: "overrides.env", description: "the task is embedded: it has no env" });
    if (overrides.payload !== undefined) exec.value.payload = overrides.payload;
  } else if (exec) {
    if (overrides.payload !== undefined)
      violations.push({
        field: "overrides.payload",
        description: `the task is ${exec.$case}: only embedded has a payload`,
      });
    if (overrides.replaceArgs) exec.value.args = [...overrides.args];
    else if (overrides.args.length > 0)
      violations.push({ field: "overrides.args", description: "set replace_args to replace the args" });
    exec.value.env = { ...exec.value.env, ...overrides.env };
  }
  if (violations.length > 0) throw invalidArgument(violations);
  spec.labels = { ...spec.labels, ...overrides.labels };
}
