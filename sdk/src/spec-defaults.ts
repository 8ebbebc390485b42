import {
  AdmissionPolicy,
  type Backoff,
  Jitter,
  RestartPolicy,
  type TaskSpec,
  Trigger,
} from "./gen/supervisor/v1/task.js";

/** Per-attempt limit of a spec without `timeout`. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Attempts of an ON_FAILURE spec with `max_attempts` 0. */
export const DEFAULT_MAX_ATTEMPTS_ON_FAILURE = 3;

/** Backoff of a spec that leaves it (or any of its fields) unset. */
export const DEFAULT_TASK_BACKOFF: Readonly<Required<Backoff>> = {
  initialDelay: { seconds: 1, nanos: 0 },
  maxDelay: { seconds: 30, nanos: 0 },
  multiplier: 2,
  jitter: Jitter.JITTER_FULL,
};

function maxAttemptsOf(restart: RestartPolicy, asked: number): number {
  if (restart === RestartPolicy.RESTART_POLICY_NEVER) return 1; // one attempt, whatever was asked
  if (asked !== 0) return asked;
  return restart === RestartPolicy.RESTART_POLICY_ON_FAILURE ? DEFAULT_MAX_ATTEMPTS_ON_FAILURE : 0; // ALWAYS: unlimited
}

/**
 * The spec with every default made explicit: what the server stores, so GetTask shows what will
 * actually happen and two requests that mean the same thing compare equal. It lives in the SDK
 * because a spec signature covers the spec *with* these defaults (see `signedBytes`): the signer,
 * the server and the runner must fill them in the same way. Applying it twice changes nothing.
 */
export function withSpecDefaults(spec: TaskSpec): TaskSpec {
  const restart = spec.restart || RestartPolicy.RESTART_POLICY_NEVER;
  return {
    ...spec,
    timeout: spec.timeout ?? { seconds: DEFAULT_TIMEOUT_MS / 1000, nanos: 0 },
    restart,
    maxAttempts: maxAttemptsOf(restart, spec.maxAttempts),
    backoff: {
      initialDelay: spec.backoff?.initialDelay ?? { ...DEFAULT_TASK_BACKOFF.initialDelay },
      maxDelay: spec.backoff?.maxDelay ?? { ...DEFAULT_TASK_BACKOFF.maxDelay },
      multiplier: spec.backoff?.multiplier || DEFAULT_TASK_BACKOFF.multiplier,
      jitter: spec.backoff?.jitter || DEFAULT_TASK_BACKOFF.jitter,
    },
    admission: spec.admission || AdmissionPolicy.ADMISSION_POLICY_DROP_IF_RUNNING,
    trigger: spec.trigger || Trigger.TRIGGER_API,
    runnerSelector: spec.runnerSelector ?? { matchLabels: {}, matchExpressions: [] },
  };
}
