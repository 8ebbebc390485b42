import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { canonicalSpec } from "./canonical.js";
import { EmbeddedExec, SubprocessExec, type TaskSpec, WasmExec } from "./gen/supervisor/v1/task.js";

/**
 * What a spec signature covers: the `exec` message — exactly what a runner
 * will execute — in the deterministic protobuf encoding (map entries sorted by
 * key, Struct fields too), prefixed with its full type name and a newline so a
 * signature for one kind can never pass for another. The server fills
 * defaults into the rest of the spec, so the rest cannot be covered; slot and
 * timeout are not what a tampered row could turn into a different program.
 */
export function signedBytes(spec: TaskSpec): Buffer {
  const exec = canonicalSpec(spec).exec;
  switch (exec?.$case) {
    case "subprocess":
      return frame("supervisor.v1.SubprocessExec", SubprocessExec.encode(exec.value).finish());
    case "embedded":
      return frame("supervisor.v1.EmbeddedExec", EmbeddedExec.encode(exec.value).finish());
    case "wasm":
      return frame("supervisor.v1.WasmExec", WasmExec.encode(exec.value).finish());
    default:
      throw new Error("a spec without exec cannot be signed");
  }
}

const frame = (typeName: string, body: Uint8Array) => Buffer.concat([Buffer.from(`${typeName}\n`), body]);

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
