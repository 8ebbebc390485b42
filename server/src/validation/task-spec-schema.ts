import {
  AdmissionPolicy,
  Jitter,
  jsonLimitProblem,
  Placement,
  RestartPolicy,
  SelectorOperator,
  Trigger,
  UUID_PATTERN,
} from "@supervisor/sdk";
import { z } from "zod";
import {
  boundedString,
  envMap,
  knownEnum,
  labelKey,
  labelMap,
  labelValue,
  MAX_ARG,
  MAX_ARGS,
  MAX_PATH,
  NAME_PATTERN,
  positiveDuration,
  validDate,
} from "./common.js";
import { concurrencySchema } from "./concurrency.js";
import { fairnessSchema } from "./fairness.js";
import { rateLimitsSchema } from "./rate-limits.js";
import { MAX_INIT_STEPS } from "./run-report.js";

const DAY_MS = 86_400_000;
const MAX_MOUNTS = 64;

const args = z.array(boundedString(MAX_ARG)).max(MAX_ARGS, `at most ${MAX_ARGS} arguments`);

const subprocess = z.object({
  command: boundedString(MAX_PATH).min(1, "required: the program to run"),
  args,
  env: envMap,
  workingDir: boundedString(MAX_PATH),
});

const embedded = z.object({
  handler: z
    .string()
    .min(1, "required: the handler name")
    .max(128, "at most 128 characters")
    .regex(NAME_PATTERN, "only letters, digits and ._:/-"),
  payload: z
    .record(z.string(), z.unknown())
    .optional()
    .superRefine((payload, ctx) => {
      const problem = payload === undefined ? undefined : jsonLimitProblem(payload);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
});

const wasm = z.object({
  modulePath: boundedString(MAX_PATH).min(1, "required: path of the .wasm module"),
  args,
  env: envMap,
});

/** An absolute path (a container's working directory, a mount's source or target). */
const absolutePath = boundedString(MAX_PATH).regex(/^\//, "must be an absolute path");

const mount = z.object({
  source: absolutePath.min(1, "required: the path on the runner's machine"),
  target: absolutePath.min(1, "required: the path inside the container"),
  readOnly: z.boolean(),
});

const container = z.object({
  image: boundedString(MAX_PATH).min(1, "required: the image (a runtime's image name, or a root filesystem path)"),
  command: boundedString(MAX_PATH).min(1, "required: the program to run inside"),
  args,
  env: envMap,
  workingDir: z.union([z.literal(""), absolutePath]),
  mounts: z.array(mount).max(MAX_MOUNTS, `at most ${MAX_MOUNTS} mounts`),
  network: z.boolean(),
});

const exec = z.discriminatedUnion("$case", [
  z.object({ $case: z.literal("subprocess"), value: subprocess }),
  z.object({ $case: z.literal("embedded"), value: embedded }),
  z.object({ $case: z.literal("wasm"), value: wasm }),
  z.object({ $case: z.literal("container"), value: container }),
]);

const requirement = z
  .object({
    key: labelKey,
    operator: knownEnum(SelectorOperator, false),
    values: z.array(labelValue).max(64, "at most 64 values"),
  })
  .superRefine((req, ctx) => {
    const needsValues =
      req.operator === SelectorOperator.SELECTOR_OPERATOR_IN ||
      req.operator === SelectorOperator.SELECTOR_OPERATOR_NOT_IN;
    if (needsValues && req.values.length === 0)
      ctx.addIssue({ code: "custom", path: ["values"], message: "IN and NOT_IN need at least one value" });
    if (!needsValues && req.values.length > 0)
      ctx.addIssue({ code: "custom", path: ["values"], message: "EXISTS and DOES_NOT_EXIST take no values" });
  });

const backoff = z
  .object({
    initialDelay: positiveDuration(DAY_MS, "24h").optional(),
    maxDelay: positiveDuration(DAY_MS, "24h").optional(),
    multiplier: z.number().refine((m) => m === 0 || (m >= 1 && m <= 100), "must be 0 (default 2) or between 1 and 100"),
    jitter: knownEnum(Jitter, true),
  })
  .superRefine((b, ctx) => {
    const ms = (d?: { seconds: number; nanos: number }) => (d ? d.seconds * 1000 + d.nanos / 1e6 : undefined);
    const initial = ms(b.initialDelay) ?? 1000;
    const max = ms(b.maxDelay) ?? 30_000;
    if (max < initial)
      ctx.addIssue({ code: "custom", path: ["maxDelay"], message: "must not be less than initial_delay" });
  });

/** TaskSpec as a client sends it (before defaults). */
export const taskSpecSchema = z
  .object({
    slot: z
      .string()
      .max(253, "at most 253 characters")
      .regex(/^$|^[A-Za-z0-9._:/-]+$/, "only letters, digits and ._:/-"),
    exec: exec.optional(),
    // Each step is a program like the subprocess kind, checked the same way (spec.init[i].command, …).
    init: z.array(subprocess).max(MAX_INIT_STEPS, `at most ${MAX_INIT_STEPS} init steps`).optional(),
    timeout: positiveDuration(7 * DAY_MS, "7d").optional(),
    restart: knownEnum(RestartPolicy, true),
    maxAttempts: z.number().int().min(0, "must not be negative").max(1000, "at most 1000"),
    backoff: backoff.optional(),
    admission: knownEnum(AdmissionPolicy, true),
    runnerSelector: z
      .object({
        matchLabels: labelMap,
        matchExpressions: z.array(requirement).max(64, "at most 64 expressions"),
      })
      .optional(),
    labels: labelMap,
    priority: z.number().int(),
    notBefore: validDate.optional(),
    trigger: knownEnum(Trigger, true),
    signature: z
      .object({
        keyId: z.string().min(1, "required with a signature").max(128, "at most 128 characters"),
        signature: z.instanceof(Uint8Array).refine((s) => s.length === 64, "an ed25519 signature is 64 bytes"),
      })
      .optional(),
    placement: knownEnum(Placement, true),
    fanOutWindow: positiveDuration(7 * DAY_MS, "7d").optional(),
    maxFailed: z.number().int().min(0, "must not be negative").max(100_000, "at most 100000"),
    pinnedRunnerId: z
      .string()
      .refine(
        (id) => id === "" || UUID_PATTERN.test(id),
        "not a runner id (a UUID such as 0190c5e2-7b1d-7c3a-8f00-0123456789ab)",
      ),
    concurrency: concurrencySchema.optional(),
    rateLimits: rateLimitsSchema.optional(),
    fairness: fairnessSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    checkPlacement(spec, ctx);
    if (!spec.exec)
      ctx.addIssue({
        code: "custom",
        path: ["exec"],
        message: "required: set one of subprocess, embedded, wasm or container",
      });
    const runsOnce =
      spec.restart === RestartPolicy.RESTART_POLICY_UNSPECIFIED || spec.restart === RestartPolicy.RESTART_POLICY_NEVER;
    // Silently storing 1 would hide the mistake: the caller meant retries and would not get them.
    if (runsOnce && spec.maxAttempts > 1) {
      ctx.addIssue({
        code: "custom",
        path: ["maxAttempts"],
        message:
          `restart NEVER runs once: max_attempts must be 0 or 1 (got ${spec.maxAttempts}); ` +
          "use ON_FAILURE to retry",
      });
    }
  });

/** Fan-out fields go with PLACEMENT_EACH_MATCHING_RUNNER only, and a fan-out is never pinned (its children are). */
function checkPlacement(
  spec: { placement: number; fanOutWindow?: unknown; maxFailed: number; pinnedRunnerId: string; admission: number },
  ctx: z.RefinementCtx,
): void {
  const fanOut = spec.placement === Placement.PLACEMENT_EACH_MATCHING_RUNNER;
  const refuse = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (!fanOut && spec.fanOutWindow) refuse("fanOutWindow", "only with placement EACH_MATCHING_RUNNER");
  if (!fanOut && spec.maxFailed > 0) refuse("maxFailed", "only with placement EACH_MATCHING_RUNNER");
  if (fanOut && spec.pinnedRunnerId) {
    refuse("pinnedRunnerId", "not with placement EACH_MATCHING_RUNNER: the supervisor pins each child itself");
  }
  // A queued parent would fan out only when promoted, which is decided where runners are not known.
  if (fanOut && spec.admission === AdmissionPolicy.ADMISSION_POLICY_QUEUE) {
    refuse("admission", "QUEUE is not served with placement EACH_MATCHING_RUNNER: use DROP_IF_RUNNING or REPLACE");
  }
}
