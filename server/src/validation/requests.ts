import {
  type BatchSubmitTasksRequest,
  type CancelTasksRequest,
  type ConcurrencyKey,
  ErrorReason,
  type FieldViolation,
  ID_PREFIX_PATTERN,
  MAX_BATCH_REQUESTS,
  type RateLimit,
  type RerunTaskRequest,
  type SubmitTaskRequest,
  type Task,
  type TaskFilter,
  TaskPhase,
  type TaskSpec,
  withSpecDefaults,
} from "@supervisor/sdk";
import type { ConcurrencyLimits } from "../core/concurrency.js";
import { UUID_PATTERN } from "../core/ids.js";
import type { RateLimits } from "../core/rate-limit.js";
import { SelectorSyntaxError } from "../core/selector.js";
import { type CompiledFilter, compileFilter } from "../core/task-filter.js";
import { canonicalSpecBytes, specHashOf } from "../core/task-spec.js";
import { type DomainError, invalidArgument } from "../errors.js";
import { knownEnum, REQUEST_ID_PATTERN } from "./common.js";
import { resolveConcurrency } from "./concurrency.js";
import { resolveFairness } from "./fairness.js";
import { resolveRateLimits } from "./rate-limits.js";
import { taskSpecSchema } from "./task-spec-schema.js";
import { violationsOf } from "./violations.js";

/** A stored task is its spec plus a status of a few KiB (errors are clipped to 4 KiB): 1 MiB leaves room. */
export const MAX_SPEC_BYTES = 1024 * 1024;

export interface ValidSubmit {
  /** The spec with every default applied. */
  spec: TaskSpec;
  requestId: string;
  /** specHash(spec): the one encoding of the spec validation makes serves its size check and its fingerprint. */
  specHash: string;
}

/** A request checked: its valid submit, or every bad field of it. */
function checkSubmit(
  request: SubmitTaskRequest,
  prefix: string,
  limits: ConcurrencyLimits | undefined,
  rates: RateLimits | undefined,
): ValidSubmit | FieldViolation[] {
  const violations: FieldViolation[] = [];
  let valid: ValidSubmit | undefined;
  if (!request.spec) violations.push({ field: `${prefix}spec`, description: "required" });
  else {
    const result = taskSpecSchema.safeParse(request.spec);
    const concurrency = result.success ? resolveConcurrency(withSpecDefaults(request.spec), limits, prefix) : [];
    const rateLimits = result.success ? resolveRateLimits(withSpecDefaults(request.spec), rates, prefix) : [];
    const fairness = result.success ? resolveFairness(withSpecDefaults(request.spec), prefix) : undefined;
    if (!result.success) violations.push(...violationsOf(result.error, request.spec, `${prefix}spec`));
    else if (isViolations(concurrency) || isViolations(rateLimits) || Array.isArray(fairness)) {
      if (isViolations(concurrency)) violations.push(...concurrency);
      if (isViolations(rateLimits)) violations.push(...rateLimits);
      if (Array.isArray(fairness)) violations.push(...fairness);
    } else {
      // Measured as stored (defaults applied, templated keys filled; map order does not change the size).
      const spec = {
        ...withSpecDefaults(request.spec),
        concurrency: concurrency as ConcurrencyKey[],
        rateLimits: rateLimits as RateLimit[],
        fairness,
      };
      const canonical = canonicalSpecBytes(spec);
      if (canonical.length > MAX_SPEC_BYTES) {
        violations.push({
          field: `${prefix}spec`,
          description:
            `${canonical.length} bytes encoded, at most ${MAX_SPEC_BYTES}: every answer that carries the task ` +
            "(GetTask, a list page, a watch event, a runner's assign) must fit a default 4 MiB client",
        });
      } else valid = { spec, requestId: request.requestId, specHash: specHashOf(canonical) };
    }
  }
  if (request.spec?.scheduledBy) {
    violations.push({
      field: `${prefix}spec.scheduled_by`,
      description: "set by the supervisor on the tasks a schedule fires; a client may not set it",
    });
  }
  if (request.requestId && !REQUEST_ID_PATTERN.test(request.requestId)) {
    violations.push({ field: `${prefix}request_id`, description: "1..128 characters of letters, digits and ._:-" });
  }
  return violations.length > 0 || !valid ? violations : valid;
}

const isViolations = (list: readonly (ConcurrencyKey | RateLimit | FieldViolation)[]): list is FieldViolation[] =>
  list.length > 0 && "field" in list[0]!;

/**
 * `limits`: the server's concurrency limits (a key with max_running 0 must have one), `rates` its rate limits (a
 * rate limit with neither unit set must have one); undefined: not checked.
 */
export function validateSubmit(
  request: SubmitTaskRequest,
  limits?: ConcurrencyLimits,
  rates?: RateLimits,
): ValidSubmit {
  const checked = checkSubmit(request, "", limits, rates);
  if (Array.isArray(checked)) throw invalidArgument(checked);
  return checked;
}

/** What concerns a whole batch, whatever its mode: 1..MAX_BATCH_REQUESTS requests. */
function validateBatchSize(request: BatchSubmitTasksRequest): void {
  if (request.requests.length === 0)
    throw invalidArgument([{ field: "requests", description: "at least one request" }]);
  if (request.requests.length > MAX_BATCH_REQUESTS)
    throw invalidArgument([{ field: "requests", description: `at most ${MAX_BATCH_REQUESTS} requests` }]);
}

/** Validates every request of the batch and reports all bad fields at once (`requests[i].spec...`). */
export function validateBatch(
  request: BatchSubmitTasksRequest,
  limits?: ConcurrencyLimits,
  rates?: RateLimits,
): ValidSubmit[] {
  validateBatchSize(request);
  const valid: ValidSubmit[] = [];
  const violations: FieldViolation[] = [];
  request.requests.forEach((submit, i) => {
    const checked = checkSubmit(submit, `requests[${i}].`, limits, rates);
    if (Array.isArray(checked)) violations.push(...checked);
    else valid.push(checked);
  });
  if (violations.length > 0) throw invalidArgument(violations);
  return valid;
}

/**
 * Validates each request of a batch on its own (return_partial_success): its
 * valid submit, or the very error SubmitTask would give it (fields named as in
 * SubmitTask: `spec.timeout`). Only the batch's size fails the whole call.
 */
export function validateEach(
  request: BatchSubmitTasksRequest,
  limits?: ConcurrencyLimits,
  rates?: RateLimits,
): (ValidSubmit | DomainError)[] {
  validateBatchSize(request);
  return request.requests.map((submit) => {
    const checked = checkSubmit(submit, "", limits, rates);
    return Array.isArray(checked) ? invalidArgument(checked) : checked;
  });
}

/** A required id: present and shaped like one (the supervisor's ids are UUIDs). */
function validateId(id: string, field: string, noun: string): string {
  if (!id) throw invalidArgument([{ field, description: "required" }]);
  if (!UUID_PATTERN.test(id))
    throw invalidArgument([
      { field, description: `not a ${noun} id (a UUID such as 0190c5e2-7b1d-7c3a-8f00-0123456789ab)` },
    ]);
  return id;
}

export const validateTaskId = (id: string, field: string) => validateId(id, field, "task");
export const validateRunnerId = (id: string, field: string) => validateId(id, field, "runner");

const phaseSchema = knownEnum(TaskPhase, false);

/** Validates a TaskFilter and compiles it; a bad label selector points at `<prefix>.label_selector`. */
export function validateFilter(filter: TaskFilter | undefined, prefix = "filter"): CompiledFilter {
  const violations: FieldViolation[] = [];
  const field = (name: string) => (prefix ? `${prefix}.${name}` : name);
  filter?.phases.forEach((phase, i) => {
    if (!phaseSchema.safeParse(phase).success)
      violations.push({ field: field(`phases[${i}]`), description: "not a task phase" });
  });
  if (filter?.slot && filter.slot.length > 253)
    violations.push({ field: field("slot"), description: "at most 253 characters" });
  if (filter?.runnerId && filter.runnerId.length > 253)
    violations.push({ field: field("runner_id"), description: "at most 253 characters" });
  if (filter?.parentId && !UUID_PATTERN.test(filter.parentId))
    violations.push({
      field: field("parent_id"),
      description: "not a task id (a UUID such as 0190c5e2-7b1d-7c3a-8f00-0123456789ab)",
    });
  if (filter?.idPrefix && !ID_PREFIX_PATTERN.test(filter.idPrefix))
    violations.push({ field: field("id_prefix"), description: "1 to 36 hex digits and '-', the start of a task id" });
  try {
    const compiled = compileFilter(filter);
    if (violations.length > 0) throw invalidArgument(violations);
    return compiled;
  } catch (error) {
    if (!(error instanceof SelectorSyntaxError)) throw error;
    violations.push({ field: field("label_selector"), description: (error as Error).message });
    throw invalidArgument(
      violations,
      violations.length === 1 ? ErrorReason.LABEL_SELECTOR_INVALID : ErrorReason.INVALID_REQUEST,
    );
  }
}

export interface ValidCancelTasks {
  filter: CompiledFilter;
  reason: string;
  dryRun: boolean;
}

/** The conditions that narrow a filter; phases alone do not (every pending task is as broad as all of them). */
const narrows = (filter: CompiledFilter) =>
  filter.slot !== undefined ||
  filter.runnerId !== undefined ||
  filter.idPrefix !== undefined ||
  filter.parentId !== undefined ||
  filter.selector !== undefined;

/**
 * CancelTasks: a filter that narrows nothing would cancel every active task, so it must be asked for with
 * `all`. parent_id narrows it to one fan-out parent's children.
 */
export function validateCancelTasks(request: CancelTasksRequest): ValidCancelTasks {
  const filter = validateFilter(request.filter);
  const violations: FieldViolation[] = [];
  if (!narrows(filter) && !request.all)
    violations.push({
      field: "filter",
      description:
        "matches every active task (no slot, label_selector, runner_id, id_prefix or parent_id): " +
        "set all to cancel them all",
    });
  if (request.reason.length > 1024) violations.push({ field: "reason", description: "at most 1024 characters" });
  if (violations.length > 0) throw invalidArgument(violations);
  return { filter, reason: request.reason, dryRun: request.dryRun };
}

/** RerunTask's own fields, checked before the task is read. */
export function validateRerunRequest(request: RerunTaskRequest): string {
  const id = validateTaskId(request.id, "id");
  if (request.requestId && !REQUEST_ID_PATTERN.test(request.requestId))
    throw invalidArgument([{ field: "request_id", description: "1..128 characters of letters, digits and ._:-" }]);
  return id;
}

/**
 * RerunTask: the ended task's spec as stored (defaults filled in, trigger kept), checked again as a submit
 * (the rules may have changed since), without scheduled_by: no schedule fired the rerun. Its idempotency
 * fingerprint binds the original task too, so one request_id cannot stand for reruns of two tasks, nor for
 * a plain submit of the same spec.
 */
export function validateRerun(task: Task, requestId: string): ValidSubmit & { rerunOf: string } {
  const submit = validateSubmit({ spec: { ...task.spec!, scheduledBy: undefined }, requestId });
  const specHash = specHashOf(new TextEncoder().encode(`rerun_of ${task.id} ${submit.specHash}`));
  return { ...submit, specHash, rerunOf: task.id };
}
