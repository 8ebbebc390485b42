import { hash } from "node:crypto";
import { canonicalSpec, type Duration, TaskSpec } from "@supervisor/sdk";
import { encodeMessage } from "./encode.js";

export const durationToMs = (duration: Duration): number => duration.seconds * 1000 + Math.trunc(duration.nanos / 1e6);
export const msToDuration = (ms: number): Duration => ({ seconds: Math.trunc(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** A spec's deterministic protobuf encoding (maps in key order): what specHash fingerprints. */
export const canonicalSpecBytes = (spec: TaskSpec): Uint8Array => encodeMessage(TaskSpec, canonicalSpec(spec));

/** The fingerprint of a spec's canonical encoding (canonicalSpecBytes), for request_id idempotency. */
export const specHashOf = (canonicalBytes: Uint8Array): string =>
  // One-shot hash: half the cost of createHash().update().digest() for a few hundred bytes.
  hash("sha256", canonicalBytes, "base64url");

/** Fingerprint of a spec (after defaults), for request_id idempotency: its deterministic protobuf encoding. */
export const specHash = (spec: TaskSpec): string => specHashOf(canonicalSpecBytes(spec));
