import type { KeyObject } from "node:crypto";
import { signatureProblem, type TaskSpec, trustedKeysFrom } from "@supervisor/sdk";
import { signatureInvalid } from "../errors.js";

const globToRegExp = (glob: string) =>
  new RegExp(
    "^" +
      glob
        .split("*")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*") +
      "$",
  );

/**
 * Which specs must be signed (all, or those whose slot matches a pattern such
 * as "deploy-*"), and with which trusted ed25519 keys. A signature that is
 * present is always checked, required or not.
 */
export class SignaturePolicy {
  private readonly keys: Map<string, KeyObject>;
  private readonly required: (slot: string) => boolean;

  constructor(trustedKeys: Record<string, string>, require: boolean | string[]) {
    this.keys = trustedKeysFrom(trustedKeys);
    const patterns = Array.isArray(require) ? require.map(globToRegExp) : [];
    this.required = require === true ? () => true : (slot) => patterns.some((pattern) => pattern.test(slot));
  }

  /** Throws PERMISSION_DENIED / SIGNATURE_INVALID when the spec may not be accepted. */
  check(spec: TaskSpec, field = "spec"): void {
    if (!spec.signature && !this.required(spec.slot)) return;
    const problem = signatureProblem(spec, this.keys);
    if (problem) {
      throw signatureInvalid(field, problem, spec.signature?.keyId ?? "");
    }
  }
}
