import { createHash } from "node:crypto";
import {
  AdmissionPolicy,
  type Backoff,
  canonicalSpec,
  type Duration,
  Jitter,
  RestartPolicy,
  TaskSpec,
  Trigger,
} from "@supervisor/sdk";

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_ATTEMPTS_ON_FAILURE = 3;

export const durationToMs = (duration: Duration): number => duration.seconds * 1000 + Math.trunc(duration.nanos / 1e6);
export const msToDuration = (ms: number): Duration => ({ seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 });

const DEFAULT_BACKOFF: Required<Backoff> = {
  initialDelay: msToDuration(1000),
  maxDelay: msToDuration(30_000),
  multiplier: 2,
  jitter: Jitter.JITTER_FULL,
};

/**
 * The spec as stored: every default made explicit, so GetTask shows what will
 * actually happen and two requests that mean the same thing compare equal.
 */
export function withDefaults(spec: TaskSpec): TaskSpec {
  const restart =
    spec.restart === RestartPolicy.RESTART_POLICY_UNSPECIFIED ? RestartPolicy.RESTART_POLICY_NEVER : spec.restart;
  const maxAttempts =
    spec.maxAttempts !== 0
      ? spec.maxAttempts
      : restart === RestartPolicy.RESTART_POLICY_ON_FAILURE
        ? DEFAULT_MAX_ATTEMPTS_ON_FAILURE
        : restart === RestartPolicy.RESTART_POLICY_NEVER
          ? 1
          : 0; // ALWAYS: unlimited
  return {
    ...spec,
    timeout: spec.timeout ?? msToDuration(DEFAULT_TIMEOUT_MS),
    restart,
    maxAttempts: restart === RestartPolicy.RESTART_POLICY_NEVER ? 1 : maxAttempts,
    backoff: {
      initialDelay: spec.backoff?.initialDelay ?? DEFAULT_BACKOFF.initialDelay,
      maxDelay: spec.backoff?.maxDelay ?? DEFAULT_BACKOFF.maxDelay,
      multiplier: spec.backoff?.multiplier || DEFAULT_BACKOFF.multiplier,
      jitter: spec.backoff?.jitter || DEFAULT_BACKOFF.jitter,
    },
    admission: spec.admission || AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
    trigger: spec.trigger || Trigger.TRIGGER_API,
    runnerSelector: spec.runnerSelector ?? { matchLabels: {}, matchExpressions: [] },
  };
}

/** Fingerprint of a spec (after defaults), for request_id idempotency: its deterministic protobuf encoding. */
export function specHash(spec: TaskSpec): string {
  return createHash("sha256")
    .update(TaskSpec.encode(canonicalSpec(spec)).finish())
    .digest("base64url");
}
