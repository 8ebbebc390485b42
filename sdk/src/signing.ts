import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { canonicalSpec } from "./canonical.js";
import { TaskSpec } from "./gen/supervisor/v1/task.js";
import { withSpecDefaults } from "./spec-defaults.js";

/**
 * Which TaskSpec fields a signature covers: those that change what runs, where, when and how
 * often. Not covered: `labels` and `priority` (they filter and order; they change neither the
 * program, nor its runners, limits, start time or number of attempts), `trigger` and `scheduledBy`
 * (informational) and the signature itself. Why, at length: SpecSignature in proto/supervisor/v1/task.proto. A
 * field added to TaskSpec does not compile until it is decided here.
 */
export const SIGNED_FIELDS = {
  slot: true,
  exec: true,
  timeout: true,
  restart: true,
  maxAttempts: true,
  backoff: true,
  admission: true,
  runnerSelector: true,
  labels: false,
  priority: false,
  notBefore: true,
  trigger: false,
  signature: false,
  scheduledBy: false,
  placement: true,
  fanOutWindow: true,
  maxFailed: false,
  init: true,
  pinnedRunnerId: true,
  // Like priority it orders work among other tasks, and the server rewrites a templated key.
  concurrency: false,
  fairness: false,
  rateLimits: false,
} as const satisfies Record<keyof TaskSpec, boolean>;

/** The first line of the signed bytes: names the payload's layout, so no other signed data can pass for it. */
export const SIGNED_SPEC_TAG = "supervisor.v1.SignedSpec/2";

/**
 * The part of a spec that a signature covers: the server's defaults filled in (`withSpecDefaults`),
 * every map sorted, every field that is not covered cleared. The spec as a client sends it and
 * the spec as the server stores it (defaults filled) give the same value.
 */
export function signedSpec(spec: TaskSpec): TaskSpec {
  const full = canonicalSpec(withSpecDefaults(spec));
  // A field the spec leaves out (a client built before it existed) signs as its default: left out too.
  const covered = Object.entries(SIGNED_FIELDS)
    .filter(([, isCovered]) => isCovered)
    .map(([field]) => [field, full[field as keyof TaskSpec]])
    .filter(([, value]) => value !== undefined);
  return { ...TaskSpec.fromPartial({}), ...Object.fromEntries(covered) };
}

/**
 * The bytes a spec signature signs: `SIGNED_SPEC_TAG`, a newline, then the deterministic protobuf
 * encoding of `signedSpec(spec)` (fields in number order, map entries and Struct fields sorted
 * by key). Exactly as documented on SpecSignature in proto/supervisor/v1/task.proto.
 */
export function signedBytes(spec: TaskSpec): Buffer {
  if (!spec.exec) throw new Error("a spec without exec cannot be signed");
  const body = TaskSpec.encode(signedSpec(spec)).finish();
  return Buffer.concat([Buffer.from(`${SIGNED_SPEC_TAG}\n`), body]);
}

/** Reads an ed25519 key given as PEM, or as base64 of the raw 32-byte key. */
export function ed25519Key(text: string, kind: "public" | "private"): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----")) return kind === "public" ? createPublicKey(trimmed) : createPrivateKey(trimmed);
  const raw = Buffer.from(trimmed, "base64");
  if (raw.length !== 32) throw new Error("an ed25519 key is PEM or 32 bytes of base64");
  // DER prefixes of SubjectPublicKeyInfo / PKCS#8 for ed25519, followed by the raw key.
  const prefix = kind === "public" ? "302a300506032b6570032100" : "302e020100300506032b657004220420";
  const der = Buffer.concat([Buffer.from(prefix, "hex"), raw]);
  return kind === "public"
    ? createPublicKey({ key: der, format: "der", type: "spki" })
    : createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}

/** Returns the spec signed with `privateKey` under `keyId`. */
export function signSpec(spec: TaskSpec, keyId: string, privateKey: KeyObject | string): TaskSpec {
  const key = typeof privateKey === "string" ? ed25519Key(privateKey, "private") : privateKey;
  return { ...spec, signature: { keyId, signature: sign(null, signedBytes(spec), key) } };
}

/** Why a spec's signature does not hold, or undefined when it does. */
export function signatureProblem(spec: TaskSpec, trustedKeys: ReadonlyMap<string, KeyObject>): string | undefined {
  const signature = spec.signature;
  if (!signature) return "the spec is not signed";
  const key = trustedKeys.get(signature.keyId);
  if (!key) return `key ${JSON.stringify(signature.keyId)} is not trusted`;
  let bytes: Buffer;
  try {
    bytes = signedBytes(spec);
  } catch (error) {
    return (error as Error).message;
  }
  return verify(null, bytes, key, signature.signature)
    ? undefined
    : `the signature does not match the spec (key ${signature.keyId})`;
}

/** Trusted keys from a { keyId: "PEM or base64" } map. */
export function trustedKeysFrom(keys: Record<string, string>): Map<string, KeyObject> {
  return new Map(Object.entries(keys).map(([id, text]) => [id, ed25519Key(text, "public")]));
}
