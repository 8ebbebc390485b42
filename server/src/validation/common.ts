import { z } from "zod";
import { validateLabelKey, validateLabelValue } from "../core/labels.js";

/** Slots, handler names, runner names: printable, path-like identifiers. */
export const NAME_PATTERN = /^[A-Za-z0-9._:/-]+$/;
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export const MAX_PATH = 4096;
export const MAX_ARG = 32 * 1024;
export const MAX_ARGS = 1024;
export const MAX_ENV = 256;
export const MAX_LABELS = 64;

/** A closed enum: rejects UNRECOGNIZED (-1), unknown numbers and, unless allowed, UNSPECIFIED (0). */
export const knownEnum = (values: Record<string, string | number>, allowUnspecified: boolean) => {
  const known = new Set(
    Object.values(values).filter((v): v is number => typeof v === "number" && v >= (allowUnspecified ? 0 : 1)),
  );
  return z.number().refine((value) => known.has(value), {
    message: `must be one of the defined values${allowUnspecified ? "" : " (not UNSPECIFIED)"}`,
  });
};

export const noNul = (s: string) => !s.includes("\0");

export const boundedString = (max: number) =>
  z.string().max(max, `at most ${max} characters`).refine(noNul, "must not contain NUL characters");

/** Environment maps: POSIX-ish names, bounded sizes, no NUL. */
export const envMap = z.record(z.string(), z.string()).superRefine((env, ctx) => {
  const entries = Object.entries(env);
  if (entries.length > MAX_ENV) ctx.addIssue({ code: "custom", message: `at most ${MAX_ENV} variables` });
  for (const [key, value] of entries) {
    if (!key || key.length > 256 || key.includes("=") || !noNul(key)) {
      ctx.addIssue({
        code: "custom",
        message: `bad variable name ${JSON.stringify(key)}: 1..256 characters, no "=" or NUL`,
      });
    } else if (value.length > MAX_ARG || !noNul(value)) {
      ctx.addIssue({ code: "custom", message: `variable ${key}: at most ${MAX_ARG} characters, no NUL` });
    }
  }
});

/** Kubernetes labels: valid keys and values, at most MAX_LABELS. */
export const labelMap = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) ctx.addIssue({ code: "custom", message: `at most ${MAX_LABELS} labels` });
  for (const [key, value] of entries) {
    const problem = validateLabelKey(key) ?? validateLabelValue(value);
    if (problem) ctx.addIssue({ code: "custom", message: `label ${JSON.stringify(key)}: ${problem}` });
  }
});

export const labelValue = z.string().superRefine((value, ctx) => {
  const problem = validateLabelValue(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const labelKey = z.string().superRefine((key, ctx) => {
  const problem = validateLabelKey(key);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** google.protobuf.Duration bounded to (0, maxMs]. */
export const positiveDuration = (maxMs: number, label: string) =>
  z
    .object({ seconds: z.number(), nanos: z.number() })
    .refine((d) => d.seconds >= 0 && d.nanos >= 0 && d.seconds * 1000 + d.nanos / 1e6 > 0, "must be positive")
    .refine((d) => d.seconds * 1000 + d.nanos / 1e6 <= maxMs, `must be at most ${label}`);

export const validDate = z
  .date()
  .refine((d) => d.getTime() >= 0 && d.getUTCFullYear() <= 9999, "must be between 1970 and 9999");
