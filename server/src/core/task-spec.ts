import { hash } from "node:crypto";
import { canonicalSpec, type Duration, TaskSpec } from "@supervisor/sdk";

export const durationToMs = (duration: Duration): number => duration.seconds * 1000 + Math.trunc(duration.nanos / 1e6);
export const msToDuration = (ms: number): Duration => ({ seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** Fingerprint of a spec (after defaults), for request_id idempotency: its deterministic protobuf encoding. */
export function specHash(spec: TaskSpec): string {
  // One-shot hash: half the cost of createHash().update().digest() for a few hundred bytes.
  return hash("sha256", TaskSpec.encode(canonicalSpec(spec)).finish(), "base64url");
}
