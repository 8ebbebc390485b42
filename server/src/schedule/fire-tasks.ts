import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { ErrorReason, type TaskSpec } from "@supervisor/sdk";
import type { ConcurrencyLimits } from "../core/concurrency.js";
import type { IdGenerator } from "../core/ids.js";
import type { RateLimits } from "../core/rate-limit.js";
import { DomainError } from "../errors.js";
import type { StoredTask } from "../store/backend.js";
import type { SubmitSettings } from "../store/decide/submit.js";
import type { GroupCommit } from "../store/group-commit.js";
import { submitStoredWrite } from "../store/writes.js";
import { inSpan, traceparentOf } from "../tracing.js";
import { type ValidSubmit, validateSubmit } from "../validation/requests.js";
import type { SignaturePolicy } from "../validation/signature-policy.js";
import type { FireRequest } from "./fire.js";

/** What became of one fire: a task (new, or the one an earlier fire of the same tick stored), or dropped by overlap. */
export type FireOutcome = { kind: "fired"; taskId: string } | { kind: "skipped" };

/**
 * Submits what schedules fire, as SubmitTask would (validated, signatures checked, admitted), through
 * a group commit: on the leader the epoch-fenced one, so a deposed leader's fires fail NOT_LEADER.
 */
export class TaskFirer {
  constructor(
    private readonly commits: Pick<GroupCommit, "run">,
    private readonly ids: IdGenerator,
    private readonly settings: SubmitSettings,
    private readonly signatures: SignaturePolicy,
    /** A fan-out template's runners (store/fan-out-targets.ts), read as SubmitTask reads them. */
    private readonly fanOutTargets: (spec: TaskSpec) => Promise<string[]> = async () => [],
    /** The server's concurrency limits (config concurrencyLimits), which a template may lean on as a submit may. */
    private readonly limits?: ConcurrencyLimits,
    /** The server's rate limits (config rateLimits), likewise. */
    private readonly rates?: RateLimits,
  ) {}

  /** Checks a fire without storing it: a template the server would refuse is refused when it is defined. */
  check(fire: FireRequest): void {
    this.validate(fire);
  }

  /**
   * Stores the fire's task; throws what SubmitTask would (SLOT_BUSY under SKIP, …). `created` is false
   * when its request id had stored it already (the answer is that task).
   */
  async submit(fire: FireRequest): Promise<{ stored: StoredTask; created: boolean }> {
    const valid = this.validate(fire);
    // BUFFER_ONE is a slot queue bounded at one for this submit alone.
    const settings = fire.bufferOne ? { ...this.settings, slotQueueLimit: 1 } : this.settings;
    const id = this.ids.next();
    const fanOutRunnerIds = await this.fanOutTargets(valid.spec);
    const { scheduledBy } = valid.spec;
    const attributes = {
      "supervisor.schedule_id": scheduledBy?.scheduleId ?? "",
      "supervisor.nominal_time": scheduledBy?.nominalTime?.toISOString() ?? "",
    };
    // A fire starts its task's trace (no caller to continue one from): its tasks' spans are children of it.
    return inSpan("schedule fire", ROOT_CONTEXT, { kind: SpanKind.PRODUCER, attributes }, async (span, trace) => {
      const traceparent = traceparentOf(trace);
      const stored = await this.commits.run(
        submitStoredWrite({ ...valid, id, fanOutRunnerIds, traceparent }, settings),
      );
      span.setAttribute("supervisor.task_id", stored.task.id);
      return { stored, created: stored.task.id === id };
    });
  }

  /** SubmitTask's checks, except that `scheduled_by`, which clients may not set, is ours to set. */
  private validate(fire: FireRequest): ValidSubmit {
    const { scheduledBy, ...spec } = fire.spec;
    const valid = validateSubmit(
      { spec: { ...spec, scheduledBy: undefined }, requestId: fire.requestId },
      this.limits,
      this.rates,
    );
    this.signatures.check(valid.spec);
    return { ...valid, spec: { ...valid.spec, scheduledBy } };
  }

  /**
   * A scheduled tick: refusals by the overlap policy are "skipped", and a request id already used with
   * another spec (the template changed between two fires of one tick) means the tick was fired. Anything
   * else (the store away, NOT_LEADER) is thrown: the tick is not handled and is fired again later.
   */
  async fireTick(fire: FireRequest): Promise<FireOutcome> {
    try {
      return { kind: "fired", taskId: (await this.submit(fire)).stored.task.id };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.reason === ErrorReason.SLOT_BUSY || error.reason === ErrorReason.SLOT_QUEUE_FULL) {
        return { kind: "skipped" };
      }
      if (error.reason === ErrorReason.REQUEST_ID_REUSED && error.metadata.task_id) {
        return { kind: "fired", taskId: error.metadata.task_id };
      }
      throw error;
    }
  }
}
