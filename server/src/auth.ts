import { createHash, timingSafeEqual } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import picomatch from "picomatch";
import type { Config, Role } from "./config.js";
import { roleMayCall } from "./core/roles.js";
import { roleForbidden, tokenInvalid, tokenMissing } from "./errors.js";

/** Who is calling: the token's name and role, or the anonymous operator when authentication is off. */
export interface Principal {
  name: string;
  role: Role;
  /** Runner names this token may connect (glob patterns); undefined = any. */
  runnerNames?: string[];
  matchesRunnerName?: (name: string) => boolean;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * Bearer-token authentication. Tokens are compared as SHA-256 digests with
 * timingSafeEqual, against every configured token without stopping at a match,
 * so timing tells nothing about which token (or how much of one) was right.
 */
export class Authenticator {
  private readonly tokens: (Principal & { digest: Buffer })[];

  constructor(tokens: Config["tokens"]) {
    this.tokens = tokens.map((t) => ({
      name: t.name,
      role: t.role,
      runnerNames: t.runnerNames,
      matchesRunnerName: t.runnerNames ? picomatch(t.runnerNames) : undefined,
      digest: t.sha256 ? Buffer.from(t.sha256, "hex") : sha256(t.token!),
    }));
  }

  /** Authentication is off only with no tokens configured (config.ts allows that on loopback only). */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  authenticate(metadata: Metadata, peer: string): Principal {
    if (!this.enabled) return { name: `anonymous@${peer.replace(/:\d+$/, "")}`, role: "operator" };
    const header = metadata.get("authorization")[0];
    const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
    if (!match) throw tokenMissing();
    const presented = sha256(match[1]!);
    let found: Principal | undefined;
    for (const token of this.tokens) {
      if (timingSafeEqual(presented, token.digest) && !found) {
        const { digest: _digest, ...principal } = token;
        found = principal;
      }
    }
    if (!found) throw tokenInvalid();
    return found;
  }

  authorize(principal: Principal, method: string): void {
    if (!roleMayCall(principal.role, method)) {
      throw roleForbidden(principal.role, method);
    }
  }
}
